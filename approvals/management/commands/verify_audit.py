"""Verify every application's audit hash chain; exit 1 naming the first broken link."""
import sys

from django.core.management.base import BaseCommand

from approvals.selectors import audit_verify


class Command(BaseCommand):
    help = "校验全部申报的审计记录哈希链"

    def handle(self, *args, **options):
        ok, message = audit_verify()
        if ok:
            self.stdout.write(message)
            return
        self.stderr.write(message)
        sys.exit(1)
