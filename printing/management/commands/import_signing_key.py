"""Import an organization's PKCS#12 file (private key, certificate, CA chain) as its signing key; the
key is stored encrypted with SIGNING_KEY_PASSPHRASE. The file's password is read from an environment
variable so that it appears in no shell history."""
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orgs.models import Organization
from printing.signing import signing_key_import_pkcs12


class Command(BaseCommand):
    help = "Import a PKCS#12 (.p12/.pfx) signing key for an organization"

    def add_arguments(self, parser):
        parser.add_argument("organization_id", type=int)
        parser.add_argument("file", type=Path)
        parser.add_argument("--password-env", default="PKCS12_PASSWORD",
                            help="environment variable holding the file's password (default PKCS12_PASSWORD)")

    def handle(self, *args, organization_id, file, password_env, **options):
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            raise CommandError(f"no organization {organization_id}")
        password = os.environ.get(password_env)
        try:
            key = signing_key_import_pkcs12(organization=organization, data=file.read_bytes(),
                                            password=password.encode() if password else None)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot import {file}: {exc}") from exc
        self.stdout.write(f"imported {key.subject}, valid until {key.not_after:%Y-%m-%d}")
