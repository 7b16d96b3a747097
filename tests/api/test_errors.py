"""One error shape under /api/ ({"code", "message", "detail", "errors"}), in Chinese or in English with
Accept-Language: en, whoever decided the error (a view of the API, DRF, Django's URL resolver, a crash), and
a locked-out login answered 429 with its own message."""
import json

import pytest
from django.conf import settings
from django.http import HttpResponse, HttpResponseServerError
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient

from approvals import selectors
from approvals.api_errors import ApiErrorMiddleware
from tests.factories import TEST_PASSWORD

SHAPE = {"code", "message", "detail", "errors"}


def api(world=None, username=None, lang=None) -> APIClient:
    client = APIClient()
    if username:
        client.force_authenticate(world.user[username])
    if lang:
        client.credentials(HTTP_ACCEPT_LANGUAGE=lang)
    return client


def error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == SHAPE and body["code"] == code, body
    assert body["message"] == body["detail"] and body["message"]
    return body


@pytest.mark.parametrize("path", ["/api/v1/applications/abc/", "/api/v1/applications/1e30/", "/api/v1/nope/",
                                  "/api/v1/applications/1/attachments/x/download/", "/api/v1/applications/%FF/"])
def test_unknown_paths_and_malformed_ids_are_json_404(world, path):
    body = error(api(world, "langya_clerk").get(path), 404, "not_found")
    assert body["message"] == "所请求的地址不存在"
    body = error(api(world, "langya_clerk", lang="en").get(path), 404, "not_found")
    assert body["message"] == "The requested address does not exist."


@pytest.mark.parametrize("path", ["/api/applications/", "/api/auth/token/", "/api/schema/", "/api/v2/applications/"])
def test_paths_outside_the_version_say_where_the_api_is(world, path):
    """The unversioned paths of the pilot were retired with v1 (docs/api.md): a 404 that names /api/v1/."""
    body = error(api(world, "langya_clerk").get(path), 404, "not_found")
    assert body["message"] == "所请求的地址不存在：接口地址以 /api/v1/ 开头"
    body = error(api(world, "langya_clerk", lang="en").get(path), 404, "not_found")
    assert "/api/v1/" in body["message"]


def test_an_application_outside_scope_is_404_in_the_shape(world):
    body = error(api(world, "langya_clerk").get("/api/v1/applications/999999/"), 404, "not_found")
    assert body["message"] == "申报不存在或不在您的权限范围内"


def test_method_media_type_and_parse_errors(world):
    client = api(world, "langya_clerk")
    body = error(client.delete("/api/v1/applications/"), 405, "method_not_allowed")
    assert body["message"] == "该地址不支持此请求方法"
    body = error(client.post("/api/v1/applications/", "x", content_type="text/plain"), 415, "unsupported_media_type")
    assert "text/plain" in body["message"]
    body = error(client.post("/api/v1/applications/", "{bad", content_type="application/json"), 400, "parse_error")
    assert body["message"] == "请求内容不是有效的 JSON"
    english = api(world, "langya_clerk", lang="en")
    body = error(english.post("/api/v1/applications/", "{bad", content_type="application/json"), 400, "parse_error")
    assert body["message"] == "The request body is not valid JSON."


def test_anonymous_is_401_and_a_bad_token_too(world):
    body = error(api().get("/api/v1/applications/"), 401, "not_authenticated")
    assert "Authorization" in body["message"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000")
    error(client.get("/api/v1/applications/"), 401, "authentication_failed")


def test_a_crash_in_a_view_is_a_json_500(world, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "application_list", crash)
    body = error(api(world, "langya_clerk").get("/api/v1/applications/"), 500, "server_error")
    assert "boom" not in body["message"]
    body = error(api(world, "langya_clerk", lang="en").get("/api/v1/applications/"), 500, "server_error")
    assert body["message"].startswith("Internal server error")


def test_the_middleware_replaces_html_error_pages_under_api_only():
    factory = RequestFactory()
    html = ApiErrorMiddleware(lambda request: HttpResponseServerError("<h1>Server Error</h1>"))
    response = html(factory.get("/api/v1/applications/"))
    assert (response.status_code, json.loads(response.content)["code"]) == (500, "server_error")
    assert html(factory.get("/approvals/")).content == b"<h1>Server Error</h1>"
    ok = ApiErrorMiddleware(lambda request: HttpResponse("<p>fine</p>"))
    assert ok(factory.get("/api/v1/docs/")).content == b"<p>fine</p>"
    crash = ApiErrorMiddleware(lambda request: None)
    response = crash.process_exception(factory.get("/api/x/"), RuntimeError("boom"))
    assert (response.status_code, json.loads(response.content)["code"]) == (500, "server_error")
    assert crash.process_exception(factory.get("/approvals/"), RuntimeError("boom")) is None


@override_settings(AXES_ENABLED=True)
def test_a_locked_out_login_is_429_with_its_own_message(world):
    user = world.user["langya_clerk"]
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    wrong = {"username": user.username, "password": "wrong-password"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        body = error(client.post("/api/v1/auth/token/", wrong, format="json"), 400, "invalid")
        assert "锁定" not in body["message"]
    body = error(client.post("/api/v1/auth/token/", wrong, format="json"), 429, "locked_out")
    assert body["message"] == "登录失败次数过多，该账号已暂时锁定，请稍后再试或联系管理员"
    right = {"username": user.username, "password": TEST_PASSWORD}
    response = client.post("/api/v1/auth/token/", right, format="json", HTTP_ACCEPT_LANGUAGE="en")
    body = error(response, 429, "locked_out")
    assert "locked" in body["message"]
    # Another address is not locked out.
    response = APIClient(REMOTE_ADDR="203.0.113.10").post("/api/v1/auth/token/", right, format="json")
    assert response.status_code == 200 and response.json()["token"]


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_swagger_ui_and_redoc_load_nothing_from_a_cdn(db, path):
    response = APIClient().get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page
    assert "/static/drf_spectacular_sidecar/" in page
