"""Check the security log's chain and add the next signed digest of its head (docs/security.md); exit 1 if
the check fails (signing then would anchor the tampering). The nightly task (security.tasks) does the same."""
import sys

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from approvals.audit_anchor import DigestError
from security.tasks import security_digest_write


class Command(BaseCommand):
    help = "校验安全日志的哈希链，并写入下一份签名摘要（库外留存）"

    def handle(self, *args, **options):
        try:
            digest, seq = security_digest_write()
        except (DigestError, FileExistsError) as exc:
            self.stderr.write(_("未写入安全日志签名摘要：%(reason)s") % {"reason": exc})
            sys.exit(1)
        self.stdout.write(_("已写入安全日志签名摘要 #%(n)s（至第 %(seq)s 条）：%(path)s") % {
            "n": digest.number, "seq": seq, "path": digest.path})
