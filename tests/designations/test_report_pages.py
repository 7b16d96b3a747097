"""The annual report pages: a report taken from the clerk to the grade through the web forms; the pages
are scoped like the designation; bad input comes back on the page (422) under the field it is about and at
the top of the form, never a 500."""
import re

import pytest
from django.test import Client

from designations.models import AnnualReport
from tests.factories import TEST_PASSWORD

from .test_reports import STATION_REPORT, designate, open_year

pytestmark = pytest.mark.django_db


def login(world, username) -> Client:
    client = Client()
    assert client.login(username=world.user[username].username, password=TEST_PASSWORD)
    return client


def field_errors(response, field_id: str) -> str:
    """The errors under one field of a page (approvals/_field.html: the field's box, then its error list)."""
    html = response.content.decode()
    match = re.search(rf'id="{re.escape(field_id)}".*?</div>\s*(?:<div class="kx-field__help".*?</div>\s*)?'
                      r'(<ul class="errorlist".*?</ul>)?', html, re.S)
    assert match, f"no field {field_id}"
    return match.group(1) or ""


def form_errors(response) -> str:
    """The errors at the top of the page's refused form."""
    match = re.search(r'<div class="kx-msg kx-msg--error" role="alert" id="form-errors">(.*?)</div>',
                      response.content.decode(), re.S)
    return match.group(1) if match else ""


@pytest.fixture
def report(world, follow_up):
    (designation,) = designate(world)
    open_year(world)
    return AnnualReport.objects.get(designation=designation)


def test_a_report_from_the_clerk_to_the_grade(world, report):
    url = f"/designations/reports/{report.pk}/"
    clerk = login(world, "langya_clerk")
    assert f'href="{url}"' in clerk.get("/designations/reports/").content.decode()
    page = clerk.get(url).content.decode()
    assert 'id="report-form"' in page and "开展服务（次）" in page
    response = clerk.post(url + "report_submit/", {"services_given": "很多"})
    assert response.status_code == 422 and "年度报告内容有误" in form_errors(response)
    assert field_errors(response, "f-services_given") and 'value="很多"' in response.content.decode()
    assert AnnualReport.objects.get(pk=report.pk).status == "draft"
    clerk.post(url + "report_submit/", {k: str(v) for k, v in STATION_REPORT.items()})
    assert AnnualReport.objects.get(pk=report.pk).status == "signoff"
    login(world, "langya_leader").post(url + "report_sign_off/", {})
    city = login(world, "chuzhou_reviewer")
    assert 'report_city_return' in city.get(url).content.decode()
    refused = city.post(url + "report_city_return/", {"reason": ""})
    assert refused.status_code == 422 and "请填写退回理由" in field_errors(refused, "review-reason")
    assert AnnualReport.objects.get(pk=report.pk).status == "city_review"  # a return needs its reasons
    city.post(url + "report_city_accept/", {"reason": "属实"})
    province = login(world, "anhui_reviewer")
    refused = province.post(url + "report_grade/", {"grade": "good", "expert_score": "120", "reason": "较好"})
    assert field_errors(refused, "review-expert_score") and 'value="120"' in refused.content.decode()
    province.post(url + "report_grade/", {"grade": "good", "expert_score": "85", "reason": "较好"})
    report.refresh_from_db()
    assert (report.status, report.grade) == ("graded", "good")
    assert 'id="grade"' in clerk.get(url).content.decode()


def test_the_pages_are_scoped(world, report):
    url = f"/designations/reports/{report.pk}/"
    for who in ("nanqiao_clerk", "hefei_reviewer", "sichuan_reviewer"):
        client = login(world, who)
        assert client.get(url).status_code == 404
        assert client.post(url + "report_submit/", STATION_REPORT).status_code == 404
        assert 'class="report"' not in client.get("/designations/reports/").content.decode()
    assert Client().get(url).status_code == 302  # to the login page
    leader = login(world, "langya_leader")
    refused = leader.post(url + "report_submit/", STATION_REPORT)  # not the leader's: said on the page
    assert refused.status_code == 422 and 'class="kx-msg kx-msg--error"' in refused.content.decode()
    assert leader.post(url + "no-such-action/", {}).status_code == 422
    assert AnnualReport.objects.get(pk=report.pk).status == "draft"


def test_report_pages_queries_are_constant(world, follow_up, django_assert_num_queries):
    clerk = login(world, "langya_clerk")
    designate(world, 2)
    open_year(world)
    report = AnnualReport.objects.first()
    clerk.get("/designations/reports/")
    with django_assert_num_queries(LIST_QUERIES):
        clerk.get("/designations/reports/")
    with django_assert_num_queries(DETAIL_QUERIES):
        clerk.get(f"/designations/reports/{report.pk}/")
    designate(world, 20, name="更多")
    AnnualReport.objects.all().delete()
    from designations.models import ReportingWindow

    ReportingWindow.objects.all().delete()
    open_year(world)
    report = AnnualReport.objects.first()
    with django_assert_num_queries(LIST_QUERIES):
        clerk.get("/designations/reports/")
    with django_assert_num_queries(DETAIL_QUERIES):
        clerk.get(f"/designations/reports/{report.pk}/")


# Session, user, roles, the count and the page (list); the report and the form definition (detail).
LIST_QUERIES, DETAIL_QUERIES = 5, 5


def test_a_refused_report_form_costs_a_constant_number_of_queries(world, report, django_assert_num_queries):
    """The refusal comes back on the page (no redirect and second request): the same queries as the page,
    plus the service's own (the report locked, the access check) and its savepoint."""
    clerk = login(world, "langya_clerk")
    url = f"/designations/reports/{report.pk}/"
    clerk.post(url + "report_submit/", {"services_given": "很多"})
    with django_assert_num_queries(REFUSED_QUERIES):
        response = clerk.post(url + "report_submit/", {"services_given": "很多"})
    assert response.status_code == 422 and field_errors(response, "f-services_given")


# Session, user, the report, roles, its form (the posted values); the service in a savepoint (roles read fresh,
# the report locked, the form; rolled back and released); the page's form.
REFUSED_QUERIES = 12
