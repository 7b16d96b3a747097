"""Dashboards: reports due and overdue per city, grades, sites per program and city, renewals due in 90
days; each within the person's scope, each with its Excel export; queries constant in the designations."""
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from designations.models import AnnualReport, ReportingWindow

from .test_consequences import graded
from .test_renewals import ending_in
from .test_report_pages import login
from .test_reports import YEAR, designate, open_year

pytestmark = pytest.mark.django_db


def rows_of(response):
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def test_dashboards_count_within_the_scope(world, follow_up):
    first, second, third = designate(world, 3)
    graded(world, first, "fail")  # opens the year too
    graded(world, second, "excellent")
    ReportingWindow.objects.update(due_on=timezone.localdate() - dt.timedelta(days=1))  # third's is overdue
    ending_in(third, 40)
    province = login(world, "anhui_reviewer")
    page = province.get("/designations/dashboard/").content.decode()
    for name in ("reports", "grades", "sites", "renewals"):
        assert f'id="dashboard-{name}"' in page
    reports = rows_of(province.get("/designations/dashboard/reports.xlsx?purpose=年度统计"))
    assert reports[0][:3] == ("省", "市", "应报")
    assert reports[1:] == [("安徽省科学技术协会", "滁州市科学技术协会", 3, 0, 1, 0, 2)]
    grades = rows_of(province.get(f"/designations/dashboard/grades.xlsx?year={YEAR}&purpose=年度统计"))
    assert grades[1] == (YEAR, 1, 0, 0, 1, 2)
    sites = rows_of(province.get("/designations/dashboard/sites.xlsx?purpose=年度统计"))
    assert sites[1][1:] == ("安徽省科学技术协会", "滁州市科学技术协会", 3)
    renewals = rows_of(province.get("/designations/dashboard/renewals.xlsx?purpose=年度统计"))
    assert len(renewals) == 2 and renewals[1][0] == third.awardee_name and renewals[1][5] == "未提交"
    assert isinstance(renewals[1][4], dt.datetime)  # a date cell, not text
    for who in ("sichuan_reviewer", "hefei_reviewer", "nanqiao_clerk"):
        client = login(world, who)
        assert rows_of(client.get("/designations/dashboard/sites.xlsx?purpose=年度统计"))[1:] == []
        assert 'class="row"' not in client.get("/designations/dashboard/").content.decode()
    assert province.get("/designations/dashboard/nothing.xlsx?purpose=年度统计").status_code == 404
    assert province.get("/designations/dashboard/?year=abc").status_code == 200  # a bad year: this year


def test_dashboard_queries_are_constant(world, follow_up, django_assert_num_queries):
    province = login(world, "anhui_reviewer")
    for count in (2, 20):
        designate(world, count, name=f"站{count}")
        AnnualReport.objects.all().delete()
        ReportingWindow.objects.all().delete()
        open_year(world)
        province.get("/designations/dashboard/")
        with django_assert_num_queries(PAGE_QUERIES):
            province.get("/designations/dashboard/")
        with django_assert_num_queries(EXPORT_QUERIES):
            province.get("/designations/dashboard/renewals.xlsx?purpose=年度统计")


# Session, user, roles; then one aggregate per dashboard (four on the page, one in an export); the page
# also reads the provinces whose 评定结果通知 it links. The export writes its security log entry (a
# savepoint, the chain head read, locked and moved, the event, the release: security.services).
PAGE_QUERIES, EXPORT_QUERIES = 8, 10
