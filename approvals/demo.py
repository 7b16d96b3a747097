"""Demo data for the engine: an open batch of every program in each demo province, with city quotas."""
import datetime as dt

from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from orgs.models import Level, Organization

from .models import Batch, BatchQuota, Program

DEMO_PROVINCES = ("340000", "510000")


@transaction.atomic
def demo_batches(*, quota: int = 3) -> int:
    """Load the programs and open this year's batch of each in the demo provinces. Idempotent."""
    call_command("loaddata", "programs", verbosity=0)
    today = timezone.localdate()
    created = 0
    for province in Organization.objects.filter(division_id__in=DEMO_PROVINCES, kind="kexie"):
        for program in Program.objects.filter(active=True):
            batch, new = Batch.objects.get_or_create(
                program=program, province=province, year=today.year,
                defaults={
                    "name": f"{province.division.name}{today.year}年度{program.name_zh}申报",
                    "opens_on": today - dt.timedelta(days=7), "closes_on": today + dt.timedelta(days=60),
                },
            )
            created += new
            for city in Organization.objects.filter(parent=province, level=Level.CITY, kind="kexie"):
                BatchQuota.objects.get_or_create(batch=batch, city=city, defaults={"quota": quota})
    return created
