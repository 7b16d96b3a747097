"""Verify the security log's hash chain (docs/security.md); exit 1 naming the first problem."""
import sys

from django.core.management.base import BaseCommand

from security.selectors import security_verify


class Command(BaseCommand):
    help = "校验安全日志的哈希链"

    def handle(self, *args, **options):
        ok, message = security_verify()
        if ok:
            self.stdout.write(message)
            return
        self.stderr.write(message)
        sys.exit(1)
