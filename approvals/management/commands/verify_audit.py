"""Verify every application's audit hash chain against the latest signed digest (docs/audit.md); exit 1
naming the first problem."""
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from approvals.selectors import audit_verify


class Command(BaseCommand):
    help = "校验全部申报的审计记录哈希链，并与最新的签名摘要比对"

    def add_arguments(self, parser):
        parser.add_argument("--digests", default=None,
                            help="与此目录中的签名摘要比对（如审计人员自己下载保存的副本），默认为 AUDIT_DIGEST_DIR")

    def handle(self, *args, digests, **options):
        if digests is not None and not Path(digests).is_dir():
            # A folder named by hand that is not there would otherwise pass as "no digest yet".
            raise CommandError(_("签名摘要目录不存在：%(path)s") % {"path": digests})
        ok, message = audit_verify(digest_dir=digests)
        if ok:
            self.stdout.write(message)
            return
        self.stderr.write(message)
        sys.exit(1)
