"""Web security: CSRF on every state-changing form, login throttling with django-axes (by user name and
address together, finite cool-off), security headers, session expiry, the deploy checks under production
settings, login required, and scope (another province's application is a 404, not a 403)."""
import datetime as dt
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone

from approvals import services as svc
from approvals.models import Application
from tests.approvals import chain
from tests.approvals.conftest import World
from tests.factories import TEST_PASSWORD

BASE_DIR = Path(__file__).resolve().parents[2]
STATION = "society-service-station"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def world(db, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    return World()


@pytest.fixture
def draft(world):
    """A complete draft of 琅琊区 (attachments uploaded), ready to submit."""
    return chain.create(world, STATION)


def logged_in(world, username, *, csrf=True) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(world.user[username], backend=MODEL_BACKEND)
    return client


def form_token(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    match = TOKEN.search(response.content.decode())
    assert match, f"no CSRF token in the form of {url}"
    return match.group(1)


def status_of(application) -> str:
    return Application.objects.get(pk=application.pk).status


# ------------------------------------------------------------------------------------------------ CSRF


@pytest.mark.parametrize("action", ["submit", "withdraw"])
def test_action_post_without_csrf_token_is_refused(world, draft, action):
    client = logged_in(world, "langya_clerk")
    response = client.post(f"/approvals/applications/{draft.pk}/{action}/", {"comment": "x"})
    assert response.status_code == 403
    assert status_of(draft) == "draft"


def test_action_post_with_the_pages_csrf_token_goes_through(world, draft):
    """The refusal above is CSRF and nothing else: the same post with the form's token works."""
    client = logged_in(world, "langya_clerk")
    token = form_token(client, f"/approvals/applications/{draft.pk}/")
    response = client.post(f"/approvals/applications/{draft.pk}/submit/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert status_of(draft) == "applicant_signoff"


def test_opinion_action_of_a_reviewer_without_csrf_token_is_refused(world, draft):
    svc.application_submit(actor=chain.act(world, "langya_clerk"), application_id=draft.pk)
    client = logged_in(world, "langya_leader")
    response = client.post(f"/approvals/applications/{draft.pk}/return/", {"comment": "请修改"})
    assert response.status_code == 403
    assert status_of(draft) == "applicant_signoff"


def test_edit_and_upload_without_csrf_token_are_refused(world, draft):
    client = logged_in(world, "langya_clerk")
    revision = Application.objects.get(pk=draft.pk).revision
    edit = client.post(f"/approvals/applications/{draft.pk}/edit/", {"subject_name": "改名"})
    assert edit.status_code == 403
    upload = client.post(f"/approvals/applications/{draft.pk}/attachments/", {"kind": "rules"})
    assert upload.status_code == 403
    application = Application.objects.get(pk=draft.pk)
    assert application.subject_name != "改名" and application.revision == revision


def test_create_without_csrf_token_is_refused(world):
    batch = world.batch(STATION)
    client = logged_in(world, "langya_clerk")
    response = client.post(f"/approvals/applications/new/?batch={batch.pk}&org={world.org['langya'].pk}",
                           {"subject_name": "某公司"})
    assert response.status_code == 403
    assert not Application.objects.exists()


def test_api_action_with_a_session_and_without_csrf_token_is_refused(world, draft):
    """The REST API accepts session cookies too, so it must check CSRF for them."""
    client = logged_in(world, "langya_clerk")
    response = client.post(f"/api/v1/applications/{draft.pk}/submit/", {}, content_type="application/json")
    assert response.status_code == 403
    assert status_of(draft) == "draft"


def test_login_post_without_csrf_token_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "langya_clerk", "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_with_the_forms_csrf_token_works(world):
    client = Client(enforce_csrf_checks=True)
    token = form_token(client, "/accounts/login/")
    response = client.post("/accounts/login/", {"username": "langya_clerk", "password": TEST_PASSWORD,
                                                "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == world.user["langya_clerk"].pk


def test_csrf_cookie_is_not_readable_by_scripts():
    assert settings.CSRF_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


# ------------------------------------------------------------------------------------- login throttling


def attempt(username, password, address):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return client, response


def logged_in_as(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


@override_settings(AXES_ENABLED=True)
def test_lockout_after_the_failure_limit_for_the_same_user_and_address(world):
    user, address = world.user["langya_clerk"], "203.0.113.7"
    limit = settings.AXES_FAILURE_LIMIT
    assert 3 <= limit <= 10
    for _ in range(limit - 1):
        _client, response = attempt(user.username, "wrong-password", address)
        assert response.status_code == 200  # the form again, with its error
    _client, response = attempt(user.username, "wrong-password", address)
    assert response.status_code == 429
    # Now even the right password is refused from that address.
    client, response = attempt(user.username, TEST_PASSWORD, address)
    assert response.status_code == 429
    assert not logged_in_as(client, user)


@override_settings(AXES_ENABLED=True)
def test_lockout_is_per_user_and_address(world):
    user, address = world.user["langya_clerk"], "203.0.113.7"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(user.username, "wrong-password", address)
    # The same user from another address logs in ...
    client, response = attempt(user.username, TEST_PASSWORD, "198.51.100.23")
    assert response.status_code == 302 and logged_in_as(client, user)
    # ... and so does another user from the locked address.
    other = world.user["langya_leader"]
    client, response = attempt(other.username, TEST_PASSWORD, address)
    assert response.status_code == 302 and logged_in_as(client, other)


def token_request(username, password, address):
    return Client(REMOTE_ADDR=address).post("/api/v1/auth/token/", {"username": username, "password": password},
                                            content_type="application/json")  # the API takes JSON only


@override_settings(AXES_ENABLED=True)
def test_lockout_also_refuses_api_tokens_and_the_admin_login(world):
    """The API's token endpoint and the admin's login take passwords as well: a locked-out user gets
    neither a token nor an admin session from that address, but still a token from another one."""
    user, address = world.user["langya_clerk"], "203.0.113.7"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(user.username, "wrong-password", address)
    response = token_request(user.username, TEST_PASSWORD, address)
    assert response.status_code == 429 and response.json()["code"] == "locked_out"
    assert "token" not in response.json()
    admin = Client(REMOTE_ADDR=address).post("/admin/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert admin.status_code == 429
    assert "token" in token_request(user.username, TEST_PASSWORD, "198.51.100.23").json()


@override_settings(AXES_ENABLED=True)
def test_failures_at_the_token_endpoint_count_towards_the_lockout(world):
    user, address = world.user["langya_leader"], "203.0.113.8"
    codes = [token_request(user.username, "wrong-password", address).status_code
             for _ in range(settings.AXES_FAILURE_LIMIT)]
    # A wrong password is 400; the failure that reaches the limit locks the name at once: 429 locked_out.
    assert codes == [400] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    client, response = attempt(user.username, TEST_PASSWORD, address)
    assert response.status_code == 429 and not logged_in_as(client, user)


def test_cool_off_is_finite():
    cool_off = get_cool_off()
    assert cool_off is not None, "AXES_COOLOFF_TIME unset: a lockout would last until an admin resets it"
    assert dt.timedelta(minutes=1) <= cool_off <= dt.timedelta(hours=24)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


@override_settings(AXES_ENABLED=True)
def test_lockout_ends_after_the_cool_off(world):
    user, address = world.user["langya_clerk"], "203.0.113.7"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(user.username, "wrong-password", address)
    assert attempt(user.username, TEST_PASSWORD, address)[1].status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - get_cool_off() - dt.timedelta(minutes=1))
    client, response = attempt(user.username, TEST_PASSWORD, address)
    assert response.status_code == 302 and logged_in_as(client, user)


# ------------------------------------------------------------------------------------- headers, sessions


@pytest.mark.parametrize("path", ["/accounts/login/", "/approvals/", "/workflow/inbox/", "/healthz"])
def test_security_headers(world, path):
    response = logged_in(world, "langya_clerk").get(path)
    assert response.status_code == 200, path
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_session_settings_are_finite_and_end_with_the_browser():
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_login_sets_a_browser_session_cookie_with_a_finite_server_side_expiry(world):
    client = Client()
    response = client.post("/accounts/login/", {"username": "langya_clerk", "password": TEST_PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["expires"] and not cookie["max-age"]  # gone when the browser closes
    assert cookie["httponly"]
    session = Session.objects.get(session_key=cookie.value)
    remaining = session.expire_date - timezone.now()
    assert dt.timedelta(0) < remaining <= dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)


def test_an_expired_session_must_log_in_again(world):
    client = Client()
    client.post("/accounts/login/", {"username": "langya_clerk", "password": TEST_PASSWORD})
    assert client.get("/approvals/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/approvals/")
    assert response.status_code == 302
    assert response["Location"].startswith(settings.LOGIN_URL)


# ------------------------------------------------------------------------------------ deploy checks


def test_deploy_checks_pass_under_production_settings(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key_file = tmp_path / "audit-signing-key.pem"
    key_file.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "APP_VAR_DIR": str(tmp_path),
        # Required in production (tests/web/test_production_settings.py); the checks connect to none of them.
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "CELERY_BROKER_URL": "redis://redis.example.org:6379/0",
        "PUBLIC_BASE_URL": "https://example.org",
        "AUDIT_SIGNING_KEY_FILE": str(key_file),
        "SIGNING_KEY_PASSPHRASE": secrets.token_urlsafe(32),  # production has no default for it
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# ------------------------------------------------------------------------------------ login and scope


@pytest.mark.parametrize("path", ["/approvals/", "/approvals/applications/", "/approvals/applications/1/"])
def test_anonymous_is_sent_to_login(db, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{settings.LOGIN_URL}?next={path}"


@pytest.mark.parametrize("path", ["/workflow/inbox/", "/workflow/queue/", "/workflow/archive/"])
def test_anonymous_never_sees_the_task_lists(db, path):
    """viewflow's site middleware answers an anonymous visitor with 403 here (a redirect to the login
    page would be kinder); either way nothing of the list is served."""
    response = Client().get(path)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response["Location"].startswith(settings.LOGIN_URL)


def test_anonymous_cannot_see_or_act_on_an_application(world, draft):
    client = Client()
    detail = client.get(f"/approvals/applications/{draft.pk}/")
    assert detail.status_code == 302 and detail["Location"].startswith(settings.LOGIN_URL)
    action = client.post(f"/approvals/applications/{draft.pk}/submit/")
    assert action.status_code == 302 and action["Location"].startswith(settings.LOGIN_URL)
    assert status_of(draft) == "draft"
    assert client.get(f"/api/v1/applications/{draft.pk}/").status_code in (401, 403)


@pytest.mark.parametrize("username", ["sichuan_reviewer", "sichuan_leader", "chengdu_reviewer", "pidu_clerk"])
def test_another_provinces_application_is_not_found(world, draft, username):
    client = logged_in(world, username, csrf=False)
    assert client.get(f"/approvals/applications/{draft.pk}/").status_code == 404
    assert client.get(f"/approvals/applications/{draft.pk}/edit/").status_code == 404
    assert client.post(f"/approvals/applications/{draft.pk}/withdraw/").status_code == 404
    attachment = draft.attachments.first()
    assert client.get(f"/approvals/attachments/{attachment.pk}/").status_code == 404
    assert status_of(draft) == "draft"


def test_a_sibling_county_cannot_see_the_application_either(world, draft):
    client = logged_in(world, "nanqiao_clerk", csrf=False)
    assert client.get(f"/approvals/applications/{draft.pk}/").status_code == 404
