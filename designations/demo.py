"""Demo data after designation: the 安徽 province opens this year's annual reports, so that the demo's
已授牌 station has a report due (its clerk langya_clerk finds it to fill)."""
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.services import Actor
from orgs.models import Organization
from workflows.workdays import add_workdays

from .models import Designation, ReportingWindow
from .reports import reporting_window_open

DEMO_PROVINCE = "340000"
DEMO_DUE_WORKDAYS = 20


def demo_reporting_window() -> ReportingWindow | None:
    """Open this year's annual reporting in the demo province, due in 20 working days, if the province has
    a designation and has not opened the year yet. Returns the window opened, or None."""
    province = Organization.objects.get(division_id=DEMO_PROVINCE, kind="kexie")
    year = timezone.localdate().year
    if ReportingWindow.objects.filter(province=province, year=year).exists():
        return None
    if not Designation.objects.filter(province=province).exists():
        return None
    reviewer = get_user_model().objects.get(username="anhui_reviewer")
    return reporting_window_open(actor=Actor(user=reviewer, ip="127.0.0.1"), province_id=province.pk, year=year,
                                 due_on=add_workdays(timezone.now(), DEMO_DUE_WORKDAYS))
