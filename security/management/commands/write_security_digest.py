"""Check the security log's chain and add the next signed digest of its head (docs/security.md); exit 1 if
the check fails (signing then would anchor the tampering)."""
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.audit_anchor import DigestError, consistent_read, digest_add, digests_check
from security.models import GENESIS, SecurityChainHead
from security.selectors import security_verify


class Command(BaseCommand):
    help = "校验安全日志的哈希链，并写入下一份签名摘要（库外留存）"

    def handle(self, *args, **options):
        folder = settings.SECURITY_DIGEST_DIR
        try:
            latest = digests_check(folder)
            with consistent_read():
                as_of = timezone.now()
                ok, message = security_verify(anchor=latest.heads.get(0) if latest else None)
                head = SecurityChainHead.objects.filter(pk=1).values_list("seq", "head").first() or (0, GENESIS)
            if not ok:
                raise DigestError(message)
            digest = digest_add(heads=[(0, head[0], head[1])], as_of=as_of, directory=folder)
        except (DigestError, FileExistsError) as exc:
            self.stderr.write(_("未写入安全日志签名摘要：%(reason)s") % {"reason": exc})
            sys.exit(1)
        self.stdout.write(_("已写入安全日志签名摘要 #%(n)s（至第 %(seq)s 条）：%(path)s") % {
            "n": digest.number, "seq": head[0], "path": digest.path})
