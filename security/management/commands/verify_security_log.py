"""Verify the security log's hash chain against the latest signed digest (docs/security.md); exit 1 naming
the first problem."""
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from security.tasks import security_log_check


class Command(BaseCommand):
    help = "校验安全日志的哈希链，并与最新的签名摘要比对"

    def add_arguments(self, parser):
        parser.add_argument("--digests", default=None,
                            help="与此目录中的签名摘要比对（如审计管理员自己保存的副本），默认为 SECURITY_DIGEST_DIR")

    def handle(self, *args, digests, **options):
        if digests is not None and not Path(digests).is_dir():
            # A folder named by hand that is not there would otherwise pass as "no digest yet".
            raise CommandError(_("签名摘要目录不存在：%(path)s") % {"path": digests})
        ok, message = security_log_check(digests)
        if ok:
            self.stdout.write(message)
            return
        self.stderr.write(message)
        sys.exit(1)
