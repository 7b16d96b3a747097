"""The public registry: designations in force only, public fields only, searchable by program, area and
name, with a constant number of queries however many designations there are."""
import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from approvals import services as svc
from approvals.models import Program
from designations.models import Designation
from designations.selectors import REGISTRY_PAGE_SIZE
from tests.approvals.chain import act
from tests.printing.helpers import bulk_approved, certified_application

pytestmark = pytest.mark.django_db
# An issue: no look for a certificate of an approved application, the sequence taken in one upsert, the
# designation written without a look first, the notify and render effects in one INSERT.
ISSUE_QUERIES, REVOKE_QUERIES, EXPIRE_QUERIES = 9, 11, 11


def issue(world, count, **kwargs):
    """`count` designations through the real issue service (the system issues, as after the notice)."""
    applications = bulk_approved(world, count, **kwargs)
    for application in applications:
        svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=application.pk)
    return applications


def rows(response) -> int:
    return response.content.decode().count('class="designation"')


def test_registry_is_public_and_shows_public_fields_only(world, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    designation = Designation.objects.get(application=application)
    response = Client().get("/registry/")
    assert response.status_code == 200
    html = response.content.decode()
    assert rows(response) == 1
    for shown in (designation.awardee_name, designation.host_name, designation.sponsor_society,
                  designation.certificate.number, f"/verify/{designation.certificate.token}/", "琅琊区", "有效"):
        assert shown in html, shown
    for private in (application.form_data["contact_person"], application.form_data["phone"], application.uscc):
        assert private not in html, private


def test_revoked_and_expired_are_not_listed(world):
    first, second, third = issue(world, 3)
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=first.pk, comment="撤销")
    Designation.objects.filter(application=second).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    response = Client().get("/registry/")
    assert rows(response) == 1 and third.subject_name in response.content.decode()


def test_search_by_program_area_and_name(world):
    issue(world, 2, name="站甲")
    issue(world, 1, name="基地乙", program="society-service-station")
    client = Client()
    station = Program.objects.get(code="society-service-station")
    assert rows(client.get("/registry/", {"program": station.pk})) == 1
    anhui, chuzhou, langya = (world.org[k] for k in ("anhui", "chuzhou", "langya"))
    assert rows(client.get("/registry/", {"province": anhui.pk, "city": chuzhou.pk, "county": langya.pk})) == 3
    assert rows(client.get("/registry/", {"q": "站甲"})) == 2
    assert rows(client.get("/registry/", {"q": "没有这个"})) == 0
    # A county outside the chosen city, nonsense and unknown ids are dropped, never an error.
    other = world.org["hefei"]
    response = client.get("/registry/", {"province": anhui.pk, "city": other.pk, "county": langya.pk,
                                         "program": "x", "page": "999"})
    assert response.status_code == 200
    assert client.get("/registry/", {"province": "-1", "q": "a" * 500}).status_code == 200
    assert client.post("/registry/").status_code == 405


def test_registry_queries_are_constant(world, django_assert_num_queries):
    issue(world, 2)
    client = Client()
    anhui, chuzhou = world.org["anhui"], world.org["chuzhou"]
    params = {"province": anhui.pk, "city": chuzhou.pk}
    # Session-less public page: the filter's organizations, the count, the page, the chart per city,
    # programs, provinces, cities, counties.
    with django_assert_num_queries(8):
        assert rows(client.get("/registry/", params)) == 2
    issue(world, REGISTRY_PAGE_SIZE + 5, name="再多一些")
    with django_assert_num_queries(8):
        assert rows(client.get("/registry/", params)) == REGISTRY_PAGE_SIZE
    with django_assert_num_queries(8):
        assert rows(client.get("/registry/", {**params, "page": 2})) == 7


def test_issue_revoke_and_expire_queries_are_constant(world, django_assert_num_queries):
    """The designation's part of an issue, a revocation and an expiry costs the same however many
    designations exist."""
    from approvals.expiry import designations_expire
    from printing.models import Certificate

    for existing in (1, 20):
        issue(world, existing, name=f"已有{existing}")
        first, second = bulk_approved(world, 2, name=f"新的{existing}")
        with django_assert_num_queries(ISSUE_QUERIES):
            svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=first.pk)
        with django_assert_num_queries(REVOKE_QUERIES):
            svc.application_revoke(actor=act(world, "anhui_leader"), application_id=first.pk, comment="撤销")
        svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=second.pk)
        Certificate.objects.filter(application=second).update(
            valid_until=timezone.localdate() - dt.timedelta(days=1))
        Certificate.objects.exclude(application=second).update(valid_until=timezone.localdate())
        with django_assert_num_queries(EXPIRE_QUERIES):
            assert designations_expire().expired == 1
        assert Designation.objects.get(application=second).status == "expired"
        assert Designation.objects.get(application=first).status == "revoked"


def test_the_chart_counts_sites_per_city(world):
    issue(world, 3)
    html = Client().get("/registry/").content.decode()
    assert 'id="registry-chart"' in html and "<svg" in html and "tiles" not in html
    assert re.search(r'<g class="bar" data-city="滁州市科学技术协会" data-count="3">', html)
    html = Client().get("/registry/", {"q": "没有这个名字"}).content.decode()
    assert 'id="registry-chart"' not in html  # the chart follows the search
