"""Verify the security log's hash chain against the latest signed digest (docs/security.md); exit 1 naming
the first problem."""
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from approvals.audit_anchor import DigestError, consistent_read, digests_check
from security.selectors import security_verify


class Command(BaseCommand):
    help = "校验安全日志的哈希链，并与最新的签名摘要比对"

    def add_arguments(self, parser):
        parser.add_argument("--digests", default=None,
                            help="与此目录中的签名摘要比对（如审计管理员自己保存的副本），默认为 SECURITY_DIGEST_DIR")

    def handle(self, *args, digests, **options):
        try:
            digest = digests_check(digests if digests is not None else settings.SECURITY_DIGEST_DIR)
        except DigestError as exc:
            self.stderr.write(str(exc))
            sys.exit(1)
        anchor = digest.heads.get(0) if digest is not None else None
        with consistent_read():
            ok, message = security_verify(anchor=anchor)
        if ok:
            self.stdout.write(message)
            return
        self.stderr.write(message)
        sys.exit(1)
