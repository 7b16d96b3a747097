"""Make the demo's signing keys: a local CA and one key per provincial and city 科协 of the demo
provinces (idempotent: organizations that have an active key keep it)."""
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.demo import DEMO_PROVINCES
from orgs.models import Level, Organization, OrgKind
from printing.demo_ca import demo_signing_key
from printing.models import SigningKey


class Command(BaseCommand):
    help = gettext_lazy("为演示省份的省、市科协生成本地演示 CA 和签章密钥（幂等）")

    def handle(self, *args, **options):
        provinces = Organization.objects.filter(division_id__in=DEMO_PROVINCES, kind=OrgKind.KEXIE)
        made = 0
        for province in provinces:
            organizations = Organization.objects.filter(path__startswith=province.path, kind=OrgKind.KEXIE,
                                                        level__in=(Level.PROVINCE, Level.CITY))
            for organization in organizations:
                if SigningKey.objects.filter(organization=organization, active=True).exists():
                    continue
                demo_signing_key(organization)
                made += 1
        self.stdout.write(_("已生成签章密钥 %(made)d 个") % {"made": made})
