"""The forced password change (security.passwords): a password someone else set (the demo seed, an
administrator creating or resetting an account) is replaced by its holder at the first login, on the web
and through the API's token endpoint; with PASSWORD_MAX_AGE_DAYS a password past its age too."""
import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from orgs.demo import demo_seed
from orgs.models import Level, Role
from security.models import Kind, PasswordState, SecurityEvent
from security.passwords import change_reason, record_change
from tests.factories import TEST_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW = "Langya-new-2026"


@pytest.fixture
def demo_password():
    rows = {row[0]: row[4] for row in demo_seed()}
    return rows["langya_clerk"]


def held(client) -> bool:
    """The user is sent to the password change page instead of the list."""
    response = client.get("/approvals/")
    if response.status_code == 200:
        return False
    assert response.status_code == 302 and response["Location"].startswith("/accounts/password_change/?next=")
    return True


def login(username, password) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert client.login(request=HttpRequest(), username=username, password=password)
    return client


def test_a_demo_account_is_held_at_the_password_change_page_until_it_is_changed(demo_password):
    client = login("langya_clerk", demo_password)

    for url in ("/approvals/", "/workflows/inbox/", "/admin/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/password_change/?next="), url
    page = client.get("/accounts/password_change/")
    assert page.status_code == 200
    assert "首次登录或密码由管理员设置：请先修改密码" in page.content.decode()
    api = client.get("/api/v1/applications/")
    assert api.status_code == 403 and api.json()["code"] == "password_change_required"
    assert "请先修改密码" in api.json()["message"]

    weak = client.post("/accounts/password_change/", {
        "old_password": demo_password, "new_password1": "abcdefgh", "new_password2": "abcdefgh"})
    assert weak.status_code == 200 and held(client)  # still held
    done = client.post("/accounts/password_change/", {
        "old_password": demo_password, "new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302

    assert not held(client)  # the same session goes on
    assert not held(login("langya_clerk", NEW))  # and a new login is not held
    state = PasswordState.objects.get(user__username="langya_clerk")
    assert not state.must_change and state.changed_at is not None


def test_the_token_endpoint_asks_for_the_new_password_and_takes_it(demo_password):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    url = "/api/v1/auth/token/"

    refused = client.post(url, {"username": "langya_clerk", "password": demo_password},
                          content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required"
    assert "请先修改密码" in refused.json()["message"]
    assert not Token.objects.filter(user__username="langya_clerk").exists()

    weak = client.post(url, {"username": "langya_clerk", "password": demo_password, "new_password": "abcdefgh1234"},
                       content_type="application/json")
    assert weak.status_code == 400
    assert "至少 3 类" in " ".join(weak.json()["errors"]["new_password"])
    same = client.post(url, {"username": "langya_clerk", "password": demo_password, "new_password": demo_password},
                       content_type="application/json")
    assert same.status_code == 400  # the current password is not a new one

    issued = client.post(url, {"username": "langya_clerk", "password": demo_password, "new_password": NEW},
                         content_type="application/json")
    assert issued.status_code == 200 and issued.json()["token"]
    again = client.post(url, {"username": "langya_clerk", "password": NEW}, content_type="application/json")
    assert again.status_code == 200 and again.json()["token"] == issued.json()["token"]
    assert SecurityEvent.objects.filter(kind=Kind.PASSWORD_CHANGED, target="langya_clerk").exists()


@pytest.fixture
def system_admin():
    province = OrganizationFactory(level=Level.PROVINCE, name="安徽省科协")
    admin = UserFactory(username="sysadmin", is_staff=True)
    MembershipFactory(user=admin, organization=province, role=Role.ADMIN)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    return client, province


def test_an_account_an_administrator_made_or_reset_must_be_changed_by_its_holder(system_admin):
    client, province = system_admin
    holder = UserFactory(username="holder")
    MembershipFactory(user=holder, organization=province, role=Role.CLERK)
    record_change(holder)
    token = Token.objects.create(user=holder)
    assert change_reason(holder) is None

    response = client.post(f"/admin/auth/user/{holder.pk}/password/", {
        "password1": "Reset-by-admin-1", "password2": "Reset-by-admin-1", "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]

    assert change_reason(holder) == "first"
    assert not Token.objects.filter(pk=token.pk).exists()  # a token of the old password ends with it
    assert held(login("holder", "Reset-by-admin-1"))


def test_an_account_made_without_anyone_logged_in_is_not_held():
    user = UserFactory(username="plain")  # a command, a fixture: the operator's own choice
    assert change_reason(user) is None
    assert not held(login("plain", TEST_PASSWORD))


def test_a_password_past_its_age_must_be_changed(settings):
    user = UserFactory(username="old")
    record_change(user)
    PasswordState.objects.filter(user=user).update(changed_at=timezone.now() - dt.timedelta(days=91))

    settings.PASSWORD_MAX_AGE_DAYS = 0  # the default: no expiry
    assert change_reason(user) is None
    settings.PASSWORD_MAX_AGE_DAYS = 90
    assert change_reason(user) == "expired"
    client = login("old", TEST_PASSWORD)
    response = client.get("/approvals/", follow=True)
    assert "密码已超过规定的使用期限" in response.content.decode()

    client.post("/accounts/password_change/", {
        "old_password": TEST_PASSWORD, "new_password1": NEW, "new_password2": NEW})
    assert change_reason(user) is None and not held(client)


def test_an_account_an_administrator_creates_is_changed_at_its_first_login():
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(root, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/admin/auth/user/add/", {
        "username": "newcomer", "password1": "Made-by-admin-1", "password2": "Made-by-admin-1",
        "usable_password": "true",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000"})
    assert response.status_code == 302, response.content.decode()[:3000]
    newcomer = User.objects.get(username="newcomer")
    assert change_reason(newcomer) == "first"
    assert held(login("newcomer", "Made-by-admin-1"))
