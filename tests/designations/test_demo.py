"""The demo leaves its 已授牌 station with this year's annual report due (README: a new user sees it)."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from approvals.demo import demo_batches
from designations.models import AnnualReport, Designation
from orgs.demo import demo_seed
from orgs.services import divisions_import
from workflows.models import Notification

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_designation_with_a_report_due(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    settings.DEMO_TOOLS = True
    divisions_import()
    demo_seed()
    demo_batches()
    out = StringIO()
    call_command("seed_demo_applications", stdout=out)
    assert "年度工作报告" in out.getvalue()
    designation = Designation.objects.get()
    assert designation.status == "valid" and designation.awardee_name.startswith("演示已授牌")
    report = AnnualReport.objects.get(designation=designation)
    assert report.year == timezone.localdate().year and report.status == "draft"
    assert report.window.due_on > timezone.localdate()
    assert Notification.objects.filter(user__username="langya_clerk", title__contains="年度工作报告").exists()
    call_command("seed_demo_applications", stdout=StringIO())  # idempotent
    assert AnnualReport.objects.count() == 1
