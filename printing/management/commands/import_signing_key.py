"""Import an organization's PKCS#12 file (private key, certificate, CA chain) as its signing key; the
key is stored encrypted with SIGNING_KEY_PASSPHRASE. The file's password is read from an environment
variable so that it appears in no shell history."""
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orgs.models import Organization
from printing.signing import signing_key_import_pkcs12


class Command(BaseCommand):
    help = gettext_lazy("为组织导入 PKCS#12（.p12/.pfx）签章密钥；文件密码从环境变量读取")

    def add_arguments(self, parser):
        parser.add_argument("organization_id", type=int, help=gettext_lazy("组织编号（管理后台“组织”中的 ID）"))
        parser.add_argument("file", type=Path, help=gettext_lazy("PKCS#12 文件（.p12/.pfx）"))
        parser.add_argument("--password-env", default="PKCS12_PASSWORD",
                            help=gettext_lazy("存放文件密码的环境变量名（默认 PKCS12_PASSWORD）"))

    def handle(self, *args, organization_id, file, password_env, **options):
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            raise CommandError(_("组织 %(id)s 不存在") % {"id": organization_id})
        password = os.environ.get(password_env)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(_("无法读取文件 %(file)s（不存在或无权读取）") % {"file": file}) from exc
        try:
            key = signing_key_import_pkcs12(organization=organization, data=data,
                                            password=password.encode() if password else None)
        except ValueError as exc:
            raise CommandError(_("无法导入 %(file)s：不是有效的 PKCS#12 文件、缺少私钥或证书，或密码不对"
                                 "（密码从环境变量 %(env)s 读取）") % {"file": file, "env": password_env}) from exc
        self.stdout.write(_("已导入 %(subject)s，有效期至 %(until)s") % {
            "subject": key.subject, "until": f"{key.not_after:%Y-%m-%d}"})
