"""The audit administrator's security log page (security.log_views): who reads what (the access layer's
orgs.access.security_log_scope_q), the filters, the pages, the verification, the Excel export with its
purpose (itself a security event, formula-like text neutralised), and its queries pinned."""
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from orgs.access import principal_build, security_log_scope_q
from security.models import Kind, SecurityEvent
from security.selectors import security_events
from security.services import security_record
from tests.approvals.conftest import world  # noqa: F401  (the `world` fixture)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOG = "/security/log/"
XLSX = "/security/log.xlsx"


def client_of(world, name):  # noqa: F811
    client = Client(REMOTE_ADDR="203.0.113.40")
    client.force_login(world.user[name], backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def events(world):  # noqa: F811
    """One marked event of each county's, city's and province's clerk, a failed login of an unknown name
    and one of the break-glass superuser (no membership)."""
    marked = {}
    for key in ("langya", "nanqiao", "chuzhou", "hefei", "anhui", "chengdu", "sichuan"):
        marked[key] = security_record(Kind.EXPORT, actor=world.user[f"{key}_clerk"], ip="198.51.100.7",
                                      target=f"MXLOG-{key}").seq
    marked["unknown"] = security_record(Kind.LOGIN_FAILED, username="no-such-name", ip="198.51.100.9",
                                        target="MXLOG-unknown").seq
    root = UserFactory(username="breakglass", is_superuser=True, is_staff=True)
    marked["root"] = security_record(Kind.ADMIN_EDIT, actor=root, target="MXLOG-root").seq
    return marked


def markers(response) -> set:
    text = response.content.decode()
    return {m for m in ("langya", "nanqiao", "chuzhou", "hefei", "anhui", "chengdu", "sichuan", "unknown", "root")
            if f"MXLOG-{m}<" in text}


@pytest.mark.parametrize("name, seen", [
    ("anhui_auditor", {"langya", "nanqiao", "chuzhou", "hefei", "anhui", "unknown", "root"}),
    ("sichuan_auditor", {"chengdu", "sichuan", "unknown", "root"}),
    ("chuzhou_auditor", {"langya", "nanqiao", "chuzhou"}),
    ("langya_auditor", {"langya"}),
    ("hefei_auditor", {"hefei"}),
])
def test_each_auditor_reads_the_events_of_their_subtree(world, events, name, seen):  # noqa: F811
    response = client_of(world, name).get(LOG, {"text": "MXLOG"})
    assert response.status_code == 200
    assert markers(response) == seen
    principal = principal_build(user=world.user[name])
    assert set(SecurityEvent.objects.filter(security_log_scope_q(principal), target__startswith="MXLOG")
               .values_list("seq", flat=True)) == {events[k] for k in seen}


@pytest.mark.parametrize("name", ["anhui_admin", "anhui_clerk", "anhui_leader", "anhui_reviewer", "anhui_expert",
                                  "chuzhou_admin", "langya_clerk"])
def test_everyone_else_is_refused(world, events, name):  # noqa: F811
    client = client_of(world, name)
    assert client.get(LOG).status_code == 403
    assert client.get(XLSX, {"purpose": "核对"}).status_code == 403
    assert not security_events(principal_build(user=world.user[name])).exists()


def test_the_security_administrator_and_the_superuser_are_refused_and_the_anonymous_sent_to_log_in(world, events):  # noqa: F811
    from orgs.models import Membership

    secadmin = UserFactory(username="anhui_secadmin")
    Membership.objects.create(user=secadmin, organization=world.org["anhui"], role="secadmin")
    root = UserFactory(username="root2", is_superuser=True, is_staff=True)
    for user in (secadmin, root):
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        assert client.get(LOG).status_code == 403
        assert client.get(XLSX, {"purpose": "核对"}).status_code == 403
    response = Client().get(LOG)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_menu_shows_the_log_to_the_auditor_only(world):  # noqa: F811
    assert 'href="/security/log/"' in client_of(world, "chuzhou_auditor").get("/approvals/applications/").content.decode()
    assert 'href="/security/log/"' not in client_of(world, "chuzhou_admin").get("/approvals/applications/").content.decode()


def test_the_filters(world, events):  # noqa: F811
    client = client_of(world, "anhui_auditor")
    assert markers(client.get(LOG, {"user": "langya_clerk"})) == {"langya"}
    assert markers(client.get(LOG, {"kind": Kind.LOGIN_FAILED, "text": "MXLOG"})) == {"unknown"}
    assert markers(client.get(LOG, {"ip": "198.51.100.9"})) == {"unknown"}
    assert markers(client.get(LOG, {"text": "mxlog-hef"})) == {"hefei"}
    today = timezone.localdate()
    assert len(markers(client.get(LOG, {"since": today, "until": today, "text": "MXLOG"}))) == 7
    SecurityEvent.objects.filter(seq=events["anhui"]).update(created_at=timezone.now() - dt.timedelta(days=3))
    yesterday = today - dt.timedelta(days=1)
    assert markers(client.get(LOG, {"until": yesterday, "text": "MXLOG"})) == {"anhui"}
    assert "anhui" not in markers(client.get(LOG, {"since": today, "text": "MXLOG"}))
    # Another user's name or another province's address never widens the scope.
    assert markers(client.get(LOG, {"user": "chengdu_clerk"})) == set()


@pytest.mark.parametrize("query, message", [
    ({"since": "2026-13-01"}, "有效的日期"), ({"ip": "300.1.1.1"}, "有效的 IPv4 或 IPv6 地址"),
    ({"kind": "nonsense"}, "选择一个有效的选项"), ({"since": "2026-05-02", "until": "2026-05-01"}, "起始日期不能晚于截止日期"),
])
def test_bad_filters_are_refused_in_chinese(world, events, query, message):  # noqa: F811
    client = client_of(world, "anhui_auditor")
    response = client.get(LOG, query)
    assert response.status_code == 400 and message in response.content.decode()
    assert markers(response) == set()
    before = SecurityEvent.objects.count()
    response = client.get(XLSX, {**query, "purpose": "核对"})
    assert response.status_code == 400 and message in response.content.decode()
    assert SecurityEvent.objects.count() == before  # no export written


def test_newest_first_and_paginated(world):  # noqa: F811
    user = world.user["langya_clerk"]
    for n in range(55):
        security_record(Kind.EXPORT, actor=user, target=f"MXPAGE-{n:02d}")
    client = client_of(world, "chuzhou_auditor")
    first = client.get(LOG, {"text": "MXPAGE"}).content.decode()
    assert first.index("MXPAGE-54") < first.index("MXPAGE-53") and "MXPAGE-04" not in first
    assert "共 55 条" in first and "第 1 / 2 页" in first and "text=MXPAGE&amp;page=2" in first
    second = client.get(LOG, {"text": "MXPAGE", "page": 2}).content.decode()
    assert "MXPAGE-04" in second and "MXPAGE-00" in second and "MXPAGE-05" not in second


def test_the_page_shows_the_chain_verification(world, events, settings):  # noqa: F811
    from django.core.management import call_command

    client = client_of(world, "chuzhou_auditor")
    assert "校验通过" not in client.get(LOG).content.decode()  # walked only when asked
    page = client.get(LOG, {"verify": "1"}).content.decode()
    assert "校验通过" in page and "链完整" in page
    call_command("write_security_digest")
    assert "与签名摘要" in client.get(LOG, {"verify": "1"}).content.decode()
    SecurityEvent.objects.filter(seq=events["hefei"]).update(target="MXLOG-edited")
    page = client.get(LOG, {"verify": "1"}).content.decode()
    assert "校验未通过" in page and f"第 {events['hefei']} 条的内容被改动" in page


def test_the_export_asks_its_purpose_is_scoped_neutralised_and_written(world, events):  # noqa: F811
    security_record(Kind.EXPORT, actor=world.user["langya_clerk"], target="=HYPERLINK(\"http://x\")")
    client = client_of(world, "chuzhou_auditor")
    asked = client.get(XLSX, {"text": "MXLOG"})
    assert asked.status_code == 200 and "导出用途" in asked.content.decode()
    assert 'name="text" value="MXLOG"' in asked.content.decode()  # the filters are kept
    response = client.get(XLSX, {"user": "langya_clerk", "purpose": "季度安全审计"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:6] == ["序号", "时间", "类型", "用户名", "来源地址", "对象"]
    assert [r[5] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "MXLOG-langya"]  # newest first
    assert all(r[3] == "langya_clerk" for r in rows[1:])
    written = SecurityEvent.objects.order_by("-seq").first()
    assert written.kind == Kind.EXPORT and written.username == "chuzhou_auditor"
    assert written.detail["purpose"] == "季度安全审计" and written.detail["document"] == "security_log_xlsx"
    assert written.detail["rows"] == 2 and written.detail["filters"] == {"username": "langya_clerk"}
    assert written.target.startswith("security-log-") and written.client_ip == "203.0.113.40"
    # Out of scope: the city's auditor exports nothing of another city, whatever is asked.
    response = client.get(XLSX, {"user": "hefei_clerk", "purpose": "核对"})
    assert load_workbook(io.BytesIO(response.content)).active.max_row == 1


def test_too_large_an_export_is_refused(world, events, monkeypatch):  # noqa: F811
    from security import log_views

    monkeypatch.setattr(log_views, "EXPORT_MAX_ROWS", 3)
    response = client_of(world, "anhui_auditor").get(XLSX, {"purpose": "核对"})
    assert response.status_code == 400 and "超过 3 条" in response.content.decode()


def _events_for(world, n):  # noqa: F811
    users = [world.user[k] for k in ("langya_clerk", "hefei_clerk", "chengdu_clerk")]
    for i in range(n):
        security_record(Kind.EXPORT, actor=users[i % 3], ip="203.0.113.1", target=f"MXQ-{i}")


@pytest.mark.parametrize("query", [{}, {"user": "langya_clerk", "kind": "export", "since": "2020-01-01",
                                        "ip": "203.0.113.1", "text": "MXQ"}])
def test_the_page_queries_are_pinned_and_do_not_grow(world, django_assert_num_queries, query):  # noqa: F811
    client = client_of(world, "anhui_auditor")
    client.get(LOG)  # the session's first request
    # session, user, the seats, the count, the page of events.
    _events_for(world, 5)
    with django_assert_num_queries(5):
        assert client.get(LOG, query).status_code == 200
    _events_for(world, 120)
    with django_assert_num_queries(5):
        assert client.get(LOG, query).status_code == 200
    with django_assert_num_queries(5):
        assert client.get(LOG, {**query, "page": 2}).status_code == 200


# ------------------------------------------------------------------------------------------- the API

API = "/api/v1/security-events/"


def api_of(world, name):  # noqa: F811
    from rest_framework.test import APIClient

    api = APIClient(REMOTE_ADDR="203.0.113.41")
    api.force_authenticate(world.user[name])
    return api


def api_markers(response) -> set:
    return {r["target"].removeprefix("MXLOG-") for r in response.json()["results"] if r["target"].startswith("MXLOG-")}


@pytest.mark.parametrize("name, seen", [
    ("anhui_auditor", {"langya", "nanqiao", "chuzhou", "hefei", "anhui", "unknown", "root"}),
    ("chuzhou_auditor", {"langya", "nanqiao", "chuzhou"}),
    ("sichuan_auditor", {"chengdu", "sichuan", "unknown", "root"}),
])
def test_the_api_reads_by_the_same_rule_and_filters(world, events, name, seen):  # noqa: F811
    api = api_of(world, name)
    response = api.get(API, {"text": "MXLOG"})
    assert response.status_code == 200 and api_markers(response) == seen
    row = next(r for r in response.json()["results"] if r["target"] == f"MXLOG-{sorted(seen)[0]}")
    assert set(row) == {"seq", "created_at", "kind", "kind_label", "username", "client_ip", "target", "detail", "hash"}
    seqs = [r["seq"] for r in response.json()["results"]]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    if "langya" in seen:
        assert api_markers(api.get(API, {"user": "langya_clerk"})) == {"langya"}
    assert api_markers(api.get(API, {"kind": "login_failed", "ip": "198.51.100.9"})) == (
        {"unknown"} if "unknown" in seen else set())


@pytest.mark.parametrize("name", ["anhui_admin", "anhui_clerk", "anhui_reviewer", "chuzhou_leader"])
def test_the_api_refuses_everyone_else(world, events, name):  # noqa: F811
    response = api_of(world, name).get(API)
    assert response.status_code == 403
    assert "审计员" in response.json()["message"]


@pytest.mark.parametrize("query, field", [({"since": "2026-02-30"}, "since"), ({"ip": "1.2.3"}, "ip"),
                                          ({"kind": "nope"}, "kind"),
                                          ({"since": "2026-05-02", "until": "2026-05-01"}, "__all__")])
def test_the_api_refuses_bad_filters_with_400(world, events, query, field):  # noqa: F811
    response = api_of(world, "anhui_auditor").get(API, query)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_the_api_queries_are_pinned_and_do_not_grow(world, django_assert_num_queries):  # noqa: F811
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    def get(query):  # each request with the user as loaded for it (as a token's or a session's is)
        api = APIClient()
        api.force_authenticate(get_user_model().objects.get(username="anhui_auditor"))
        return api.get(API, query)

    _events_for(world, 5)
    # the user (loaded here, as for a request), the seats, the count, the page of events.
    with django_assert_num_queries(4):
        assert get({"user": "langya_clerk"}).status_code == 200
    _events_for(world, 120)
    with django_assert_num_queries(4):
        assert len(get({}).json()["results"]) == 50
    with django_assert_num_queries(4):
        assert get({"page": 2}).status_code == 200


def test_the_api_is_in_the_schema(world):  # noqa: F811
    schema = api_of(world, "anhui_auditor").get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/security-events/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"since", "until", "user", "kind", "ip", "text", "page"}
    assert set(operation["responses"]) >= {"200", "400", "403"}
