"""The reports page: scoped counts, median working days per stage from the audit trail, the SVG charts
and the Excel export."""
import datetime as dt
import io
import random
import statistics
import zoneinfo

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook

from approvals import reports
from approvals import services as svc
from approvals.models import Application, AuditEvent
from approvals.reports import report_build, weighted_median
from approvals.selectors import application_list
from tests.approvals.chain import act, create, restamp_stays
from tests.approvals.conftest import World

PROGRAM = "society-service-station"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(db):
    return World()


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


def local(*args):
    return dt.datetime(*args, tzinfo=SHANGHAI)


def test_weighted_median_is_the_median_of_the_expansion():
    assert weighted_median({}) is None
    assert weighted_median({3: 1}) == 3
    assert weighted_median({1: 1, 5: 1}) == 3
    assert weighted_median({2: 3, 10: 1}) == 2
    rng = random.Random(5)
    for _ in range(200):
        histogram = {rng.randint(0, 30): rng.randint(1, 4) for _ in range(rng.randint(1, 6))}
        expansion = [v for v, n in histogram.items() for _ in range(n)]
        assert weighted_median(histogram) == statistics.median(expansion)


def _signed_off(world, county, city="chuzhou", province="anhui", *, submitted, signed_off, backdate=True):
    """An application at the city review whose sign-off stage ran from `submitted` to `signed_off`."""
    app = create(world, PROGRAM, county=county, city=city, province=province)
    svc.application_submit(actor=act(world, f"{county}_clerk"), application_id=app.pk)
    svc.application_sign_off(actor=act(world, f"{county}_leader"), application_id=app.pk, comment="同意")
    # Events are append-only for the application; a queryset update backdates them for the test.
    if backdate:
        Application.objects.filter(pk=app.pk).update(created_at=submitted - dt.timedelta(days=3))
    AuditEvent.objects.filter(application=app, action="submit").update(created_at=submitted)
    AuditEvent.objects.filter(application=app, action="sign_off").update(created_at=signed_off)
    return app


@pytest.fixture
def stays(world):
    world.batch(PROGRAM, quota=100)
    world.batch(PROGRAM, province="sichuan", quota=100)
    # (9/29, 10/9]: 9/30 and 10/9 work, 10/1-10/8 rest -> 2. Signed off at 00:30 local, which is still
    # 8 October in UTC: a date taken in UTC would give 1.
    a = _signed_off(world, "langya", submitted=local(2025, 9, 29, 10), signed_off=local(2025, 10, 9, 0, 30))
    # (9/29, 9/30] -> 1, at 23:50 local (15:50 UTC, the same day).
    b = _signed_off(world, "nanqiao", submitted=local(2025, 9, 29, 10), signed_off=local(2025, 9, 30, 23, 50))
    # (9/29, 10/13]: 9/30, 10/9, 10/10, 10/11 (adjusted), 10/13 -> 5.
    c = _signed_off(world, "langya", submitted=local(2025, 9, 29, 10), signed_off=local(2025, 10, 13, 9))
    # Another province's application: out of Anhui's scope; 0 working days.
    d = _signed_off(world, "pidu", city="chengdu", province="sichuan", submitted=local(2025, 9, 29, 10),
                    signed_off=local(2025, 9, 29, 18), backdate=False)
    # One recommended by the city: city review from sign-off (10/13) to recommendation (10/20) -> 5.
    svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=c.pk, comment="推荐")
    AuditEvent.objects.filter(application=c, action="recommend").update(created_at=local(2025, 10, 20, 11))
    restamp_stays()
    # The actions' own figures and the derivation agree with the calendar: nothing to recount.
    assert reports.stays_recount(year=2025) == 0
    return a, b, c, d


def _user(world, name):
    return get_user_model().objects.get(pk=world.user[name].pk)


def test_figures_are_scoped_and_stage_days_are_working_days(world, stays):
    report = report_build(user=_user(world, "anhui_reviewer"))
    assert report.total == 3
    assert [(r.key, r.value) for r in report.by_status] == [("city_review", 2), ("province_check", 1)]
    assert [(r.label, r.value) for r in report.by_city] == [("滁州市科学技术协会", 3)]
    assert [(r.key, r.value) for r in report.by_program] == [(PROGRAM, 3)]
    days = {s.stage: (s.median, s.stays) for s in report.stage_days}
    assert days["applicant_signoff"] == (2, 3)  # median of 2, 1, 5
    assert days["city_review"] == (5, 1)
    assert days["province_check"] == (None, 0)  # entered, not left

    sichuan = report_build(user=_user(world, "sichuan_reviewer"))
    assert sichuan.total == 1
    assert {s.stage: s.median for s in sichuan.stage_days}["applicant_signoff"] == 0

    county = report_build(user=_user(world, "nanqiao_clerk"))
    assert county.total == 1
    assert {s.stage: s.median for s in county.stage_days}["applicant_signoff"] == 1


def test_a_calendar_edit_recounts_the_stays_of_its_year(world, stays, admin_client,
                                                      django_capture_on_commit_callbacks):
    """30 September 2025 made a rest day in the admin: the stays over it lose a working day once the
    edit is committed (the worker's task, run here by the eager test Celery)."""
    applications = application_list(user=_user(world, "anhui_reviewer"))
    assert reports.stage_day_counts(applications) == {"applicant_signoff": {1: 1, 2: 1, 5: 1},
                                                      "city_review": {5: 1}}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/workflows/calendarday/add/", {
            "date": "2025-09-30", "is_workday": "", "name": "台风停工", "note": "",
        })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert reports.stage_day_counts(applications) == {"applicant_signoff": {0: 1, 1: 1, 4: 1},
                                                      "city_review": {5: 1}}
    assert {s.stage: s.median for s in report_build(user=_user(world, "anhui_reviewer")).stage_days}[
        "applicant_signoff"] == 1


def test_page_draws_svg_charts(world, stays, client):
    client.force_login(_user(world, "anhui_reviewer"))
    response = client.get("/approvals/reports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 4
    report = html.split('class="kx-page"', 1)[1].split('<script src="/static/approvals/page.js"', 1)[0]
    assert "<script" not in report  # the report itself needs no script (page.js is the site's table scroller)
    assert "滁州市科学技术协会" in html and "本级审核" in html
    assert 'href="/approvals/reports.xlsx"' in html


def test_excel_export(world, stays, client):
    client.force_login(_user(world, "anhui_reviewer"))
    response = client.get("/approvals/reports.xlsx?purpose=年度统计")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["按申报类别", "按状态", "按城市", "各环节用时"]
    assert list(book["按城市"].iter_rows(values_only=True)) == [("城市", "申报数"), ("滁州市科学技术协会", 3)]
    stages = {row[0]: row[1:] for row in book["各环节用时"].iter_rows(min_row=2, values_only=True)}
    assert stages["本级审核"] == (2, 3)
    assert stages["市级审核推荐"] == (5, 1)
    assert stages["省级形式审查"] == (None, 0)


def test_excel_export_neutralises_formula_like_names(world, stays, client):
    """A city whose name starts with "=" is written as text with a leading apostrophe, not a live formula;
    counts stay numbers."""
    from orgs.models import Organization

    Organization.objects.filter(pk=world.org["chuzhou"].pk).update(name="=cmd|' /C calc'!A0")
    client.force_login(_user(world, "anhui_reviewer"))
    book = load_workbook(io.BytesIO(client.get("/approvals/reports.xlsx?purpose=年度统计").content))
    city, count = book["按城市"]["A2"], book["按城市"]["B2"]
    assert city.value == "'=cmd|' /C calc'!A0" and city.data_type == "s"
    assert count.value == 3 and count.data_type == "n"
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)


def test_reports_need_a_login(client):
    assert client.get("/approvals/reports/").status_code == 302
    assert client.get("/approvals/reports.xlsx?purpose=年度统计").status_code == 302
