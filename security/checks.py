"""System checks of the security settings (docs/security.md): GB/T 22239 level 3 asks for security audit
records kept at least six months, so a retention below 180 days is an error (every management command,
the worker and the web server refuse to start)."""
from django.conf import settings
from django.core import checks

MIN_RETENTION_DAYS = 180


def check_security_log_retention(app_configs=None, **kwargs):
    days = getattr(settings, "SECURITY_LOG_RETENTION_DAYS", None)
    if not isinstance(days, int) or isinstance(days, bool) or days < MIN_RETENTION_DAYS:
        return [checks.Error(
            f"SECURITY_LOG_RETENTION_DAYS = {days!r}: 安全日志至少保存 {MIN_RETENTION_DAYS} 天（等保 2.0 安全审计）",
            hint=f"设为不小于 {MIN_RETENTION_DAYS} 的整数天数（默认 180）",
            id="security.E001",
        )]
    return []
