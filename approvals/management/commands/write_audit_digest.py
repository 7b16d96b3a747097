"""Check every audit chain and add the next signed digest of their heads (docs/audit.md); exit 1 if refused."""
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from approvals.audit_anchor import DigestError, DigestRefused
from approvals.audit_services import audit_digest_write


class Command(BaseCommand):
    help = "校验全部审计记录链，并写入下一份签名摘要（库外留存）"

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="校验未通过也写入（须用 --note 说明原因，如从备份恢复、更换密钥）")
        parser.add_argument("--note", default="", help="写入摘要的说明")

    def handle(self, *args, force, note, **options):
        if force and not note.strip():
            raise CommandError(_("--force 须同时用 --note 说明原因"))
        try:
            digest = audit_digest_write(note=note.strip(), force=force)
        except (DigestRefused, DigestError) as exc:
            self.stderr.write(_("未写入签名摘要：%(reason)s") % {"reason": exc})
            sys.exit(1)
        self.stdout.write(_("已写入签名摘要 #%(n)s（%(apps)s 个申报）：%(path)s") % {
            "n": digest.number, "apps": digest.applications, "path": digest.path})
