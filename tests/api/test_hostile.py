"""Hostile bodies and query strings against every JSON endpoint of the API: no 5xx, and every refusal in
the error shape. Each body class is something a broken or malicious client sends. (A body whose keys are
all unknown is a valid empty body for an action without inputs, such as withdraw: it may succeed.)"""
import pytest
from django.test import override_settings
from rest_framework.test import APIClient
from viewflow.workflow.models import Task

from approvals.api_parsers import MAX_DEPTH
from approvals.models import Application
from approvals.stages import ACTIONS, ROUTED_ACTIONS
from tests.api.test_api import _create_body
from workflows.models import Notification

STATION = "society-service-station"


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


HOSTILE = {  # name → (body bytes, content type)
    "deep_objects": (_nested(1000), "application/json"),
    "very_deep_arrays": (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    "just_over_depth": (_nested(MAX_DEPTH + 1), "application/json"),
    "unclosed_deep": (b"[" * 5000, "application/json"),
    "truncated": (b'{"comment": "abc', "application/json"),
    "not_json": (b"hello", "application/json"),
    "duplicate_keys": (b'{"comment": "a", "comment": "b", "subject_name": "x", "subject_name": "y"}',
                       "application/json"),
    "latin1": ('{"comment": "é"}'.encode("latin-1"), "application/json"),
    "utf16": ('{"comment": "意见"}'.encode("utf-16"), "application/json"),
    "bom": (b'\xef\xbb\xbf{"comment": "x"}', "application/json"),
    "lone_surrogate": (b'{"comment": "\\ud800", "subject_name": "\\udfff"}', "application/json"),
    "nul_chars": (b'{"comment": "a\\u0000b", "subject_name": "\\u0000"}', "application/json"),
    "nan": (b'{"score": NaN, "comment": Infinity}', "application/json"),
    "huge_integers": (b'{"score": 1' + b"0" * 400 + b', "batch": 99999999999999999999, '
                      b'"applicant": 9223372036854775808, "expert_ids": [99999999999999999999]}',
                      "application/json"),
    "huge_float": (b'{"score": 1e999, "batch": 1e30, "applicant": -1e30}', "application/json"),
    "lists_for_text": (b'{"comment": ["a", "b"], "subject_name": ["a"], "uscc": ["x"], "division_code": [1],'
                       b' "kind": ["x"]}', "application/json"),
    "objects_for_text": (b'{"comment": {"a": 1}, "subject_name": {"b": 2}, "division_code": {}}',
                         "application/json"),
    "booleans_and_numbers_for_text": (b'{"comment": true, "subject_name": 12, "division_code": false}',
                                      "application/json"),
    "wrong_types_everywhere": (b'{"expert_ids": "1,2", "score": [90], "approve": "maybe", '
                               b'"starts_on": 20260101, "form_data": [1, 2], "batch": "x"}', "application/json"),
    "empty_and_null": (b'{"expert_ids": [], "score": "", "comment": null, "form_data": null}', "application/json"),
    "top_level_array": (b'[{"comment": "x"}]', "application/json"),
    "top_level_scalar": (b'"comment"', "application/json"),
    "null_body": (b"null", "application/json"),
    "empty_body": (b"", "application/json"),
    "xml": (b"<comment>x</comment>", "application/xml"),
    "form_junk": (b"comment=%ZZ&subject_name=%00&&&=", "application/x-www-form-urlencoded"),
    "many_keys": (b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(20000)) + b"}", "application/json"),
    "long_strings": (b'{"comment": "' + b"x" * 200_000 + b'", "subject_name": "' + b"y" * 50_000 + b'"}',
                     "application/json"),
}
OVERSIZE = b'{"comment": "' + b"x" * 3_000_000 + b'"}'


def endpoints(world):
    """(method, url, username) for every JSON endpoint, each as a user who may reach it."""
    draft = world.application(STATION) if hasattr(world, "application") else None
    if draft is None:
        client = APIClient()
        client.force_authenticate(world.user["langya_clerk"])
        created = client.post("/api/v1/applications/", _create_body(world), format="json")
        assert created.status_code == 201, created.content
        draft = Application.objects.get(pk=created.json()["id"])
    yield "post", "/api/v1/auth/token/", None
    yield "post", "/api/v1/applications/", "langya_clerk"
    yield "patch", f"/api/v1/applications/{draft.pk}/", "langya_clerk"
    for action in ROUTED_ACTIONS:
        yield "post", f"/api/v1/applications/{draft.pk}/{ACTIONS[action].action.url}/", "langya_clerk"
        yield "post", f"/api/v1/applications/{draft.pk}/{ACTIONS[action].action.url}/", "anhui_reviewer"
    # The POSTs of the read resources take no body: whatever is sent is not read.
    note = Notification.objects.create(user=world.user["langya_clerk"], kind="task", title="通知", dedup_key="hostile")
    yield "post", f"/api/v1/notifications/{note.pk}/read/", "langya_clerk"
    task = Task.objects.filter(process__application=draft).order_by("pk").first()
    yield "post", f"/api/v1/tasks/{task.pk if task else 1}/claim/", "langya_clerk"


def test_at_least_twenty_hostile_classes():
    assert len(HOSTILE) >= 20


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2_621_440)
def test_no_hostile_body_gets_a_5xx_or_writes(world):
    routes = list(endpoints(world))
    failures = []
    for method, url, username in routes:
        client = APIClient()
        if username:
            client.force_authenticate(world.user[username])
        for name, (body, content_type) in {**HOSTILE, "oversize": (OVERSIZE, "application/json")}.items():
            response = getattr(client, method)(url, body, content_type=content_type, HTTP_IF_MATCH='"1"')
            shape = response["Content-Type"].startswith("application/json") and (
                response.status_code < 400 or {"code", "message", "detail", "errors"} <= set(response.json()))
            if response.status_code >= 500 or not shape:
                failures.append((method, url, username, name, response.status_code, response.content[:200]))
    assert not failures, "\n".join(map(str, failures))


def test_specific_refusals_say_what_is_wrong(world):
    client = APIClient()
    client.force_authenticate(world.user["langya_clerk"])
    url = "/api/v1/applications/"

    def refused(body, content_type="application/json"):
        return client.post(url, body, content_type=content_type).json()

    assert refused(_nested(1000))["code"] == "too_deep"
    assert refused(_nested(1000))["message"] == f"JSON 嵌套超过 {MAX_DEPTH} 层"
    assert refused(HOSTILE["duplicate_keys"][0])["code"] == "duplicate_key"
    assert refused(HOSTILE["latin1"][0])["code"] == "bad_encoding"
    assert refused(HOSTILE["nan"][0])["code"] == "parse_error"
    body = refused(HOSTILE["lists_for_text"][0])
    assert body["code"] == "invalid" and body["errors"]["subject_name"] == ["应为文本"]
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        response = client.post(url, b'{"subject_name": "' + b"x" * 2000 + b'"}', content_type="application/json")
        assert (response.status_code, response.json()["code"]) == (413, "too_large")


@pytest.mark.parametrize("path", ["batches", "organizations", "tasks", "notifications", "programs"])
@pytest.mark.parametrize("query", ["year=1e30", "province=99999999999999999999", "parent=-1", "open=maybe",
                                   "level=nope", "box=x", "unread=2", "page=99999999999999999999", "ordering=%00",
                                   "page=-1"])
def test_the_read_resources_range_check_their_queries(world, path, query):
    client = APIClient()
    client.force_authenticate(world.user["anhui_reviewer"])
    response = client.get(f"/api/v1/{path}/?{query}")
    assert response.status_code < 500 and response["Content-Type"].startswith("application/json"), (
        path, query, response.status_code)
    if response.status_code >= 400:
        assert {"code", "message"} <= set(response.json())


@pytest.mark.parametrize("query", [
    "city=1e30", "batch=99999999999999999999", "city=-1", "year=1e5", "batch=abc", "city=0x10",
    "year=99999999999999999999999999", "status=nope", "page=99999999999999999999", "page=-1",
])
def test_query_parameters_are_range_checked(world, query):
    client = APIClient()
    client.force_authenticate(world.user["anhui_reviewer"])
    response = client.get(f"/api/v1/applications/?{query}")
    assert 400 <= response.status_code < 500, (query, response.status_code)
    assert {"code", "message"} <= set(response.json())


@pytest.mark.parametrize("query", ["old=9223372036854775808&new=1", "old=1&new=1e30", "old=-5&new=2"])
def test_revision_diff_numbers_are_range_checked(world, query):
    client = APIClient()
    client.force_authenticate(world.user["langya_clerk"])
    created = client.post("/api/v1/applications/", _create_body(world), format="json").json()
    response = client.get(f"/api/v1/applications/{created['id']}/revisions/diff/?{query}")
    assert response.status_code == 400 and response.json()["code"] == "invalid", response.content


def test_huge_ids_in_paths_are_404(world):
    client = APIClient()
    client.force_authenticate(world.user["langya_clerk"])
    for url in ("/api/v1/applications/99999999999999999999/", "/api/v1/applications/9223372036854775808/submit/",
                "/api/v1/applications/1/attachments/99999999999999999999/download/"):
        response = client.post(url, {}, format="json") if url.endswith("submit/") else client.get(url)
        assert response.status_code == 404 and response.json()["code"] == "not_found", (url, response.content)
