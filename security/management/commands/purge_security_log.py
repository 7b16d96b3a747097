"""Delete the security events older than SECURITY_LOG_RETENTION_DAYS (docs/security.md), as the nightly
task does: only events a signed digest already covers, after a new digest has signed the new start."""
import sys

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from approvals.audit_anchor import DigestError
from security.tasks import PurgeRefused, security_log_purge


class Command(BaseCommand):
    help = "按保存期限清除过期的安全日志（仅清除已有签名摘要覆盖的记录）"

    def handle(self, *args, **options):
        try:
            deleted, through = security_log_purge()
        except (PurgeRefused, DigestError, FileExistsError) as exc:
            self.stderr.write(_("未清除安全日志：%(reason)s") % {"reason": exc})
            sys.exit(1)
        if deleted:
            self.stdout.write(_("已清除 %(n)s 条过期安全日志（至第 %(seq)s 条）") % {"n": deleted, "seq": through})
        else:
            self.stdout.write(_("没有可清除的安全日志"))
