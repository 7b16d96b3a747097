from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = _("安全")

    def ready(self):
        from django.core import checks

        from . import signals  # noqa: F401  (connects the receivers that write the security log)
        from .checks import check_security_log_retention

        checks.register(check_security_log_retention)
