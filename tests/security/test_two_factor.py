"""Two-factor login (security.two_factor): required of administrators and province-level roles, open to
everyone else; enrolment with a QR code, the verify step, recovery codes, wrong codes and throttling, the
administrator's reset, and the API's tokens (a code to get one, scopes, expiry, revocation)."""
import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orgs.models import Level, Membership, Role
from security.models import Kind, SecurityEvent
from security.selectors import security_verify
from tests.factories import TEST_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.usefixtures("two_factor_on")]


@pytest.fixture
def two_factor_on(settings):
    settings.TWO_FACTOR_REQUIRED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = settings.OTP_STATIC_THROTTLE_FACTOR = 0  # one test turns it back on


@pytest.fixture
def province():
    return OrganizationFactory(level=Level.PROVINCE, name="安徽省科协")


@pytest.fixture
def county(province):
    city = OrganizationFactory(level=Level.CITY, parent=province, name="滁州市科协")
    return OrganizationFactory(level=Level.COUNTY, parent=city, name="琅琊区科协")


@pytest.fixture
def officer(province):
    return MembershipFactory(user=UserFactory(username="wan_reviewer"), organization=province,
                             role=Role.REVIEWER).user


def code(device, ahead: int = 0) -> str:
    """The device's code now (`ahead` steps later: a code already used in this step is refused)."""
    if device.pk:
        device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=ahead):06d}"


def login(username: str) -> Client:
    client = Client(REMOTE_ADDR="203.0.113.7")
    response = client.post("/accounts/login/", {"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def enrol(client: Client) -> tuple[TOTPDevice, list[str]]:
    device = client.get("/accounts/2fa/setup/").context["device"]
    response = client.post("/accounts/2fa/setup/", {"code": code(device), "next": "/approvals/"})
    assert response.status_code == 200
    return TOTPDevice.objects.get(user_id=client.session["_auth_user_id"]), list(response.context["codes"])


def kinds_since(seq: int) -> list[str]:
    return list(SecurityEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("kind", flat=True))


def last_seq() -> int:
    return SecurityEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


# ---------------------------------------------------------------------------------------------- web


def test_a_province_officer_is_held_at_enrolment_until_a_code_confirms_the_device(officer):
    client = login("wan_reviewer")
    response = client.get("/approvals/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/setup/?next=/approvals/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and b"<svg" in page.content
    device = page.context["device"]
    assert page.context["secret"].replace(" ", "") in device.config_url
    assert not TOTPDevice.objects.filter(user=officer).exists()  # nothing saved before a code confirms it
    start = last_seq()

    wrong = client.post("/accounts/2fa/setup/", {"code": "000000", "next": "/approvals/"})
    assert wrong.status_code == 400 and "验证码不正确" in wrong.content.decode()
    assert client.get("/approvals/").status_code == 302  # still held

    done = client.post("/accounts/2fa/setup/", {"code": code(device), "next": "/approvals/"})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and all(c in done.content.decode() for c in codes)
    device = TOTPDevice.objects.get(user=officer)
    assert device.confirmed
    assert client.get("/approvals/").status_code == 200
    assert kinds_since(start) == [Kind.TWO_FACTOR_FAILED, Kind.TWO_FACTOR_ENROLLED, Kind.RECOVERY_CODES_ISSUED]
    assert security_verify()[0]


def test_an_enrolled_officer_gives_a_code_at_every_login_and_a_wrong_one_is_refused(officer):
    device, _codes = enrol(login("wan_reviewer"))
    client = login("wan_reviewer")
    response = client.get("/approvals/")
    assert response["Location"] == "/accounts/2fa/verify/?next=/approvals/"
    assert client.get("/api/applications/").status_code == 403  # a session under /api/ as well
    assert client.get("/api/applications/").json()["code"] == "two_factor_required"
    start = last_seq()
    wrong = client.post("/accounts/2fa/verify/", {"code": "123456", "next": "/approvals/"})
    assert wrong.status_code == 400 and "验证码不正确" in wrong.content.decode()
    blank = client.post("/accounts/2fa/verify/", {"code": "", "next": "/approvals/"})
    assert blank.status_code == 400 and "请输入验证码" in blank.content.decode()
    session_before = client.session.session_key
    right = client.post("/accounts/2fa/verify/", {"code": code(device, ahead=1), "next": "/approvals/"})
    assert right.status_code == 302 and right["Location"] == "/approvals/"
    assert client.session.session_key != session_before  # a new session key once verified
    assert client.get("/approvals/").status_code == 200
    assert kinds_since(start) == [Kind.TWO_FACTOR_FAILED, Kind.TWO_FACTOR_VERIFIED]
    failed = SecurityEvent.objects.get(seq=start + 1)
    assert (failed.username, failed.client_ip) == ("wan_reviewer", "203.0.113.7")


def test_the_verify_page_does_not_send_anyone_to_another_site(officer):
    device, _codes = enrol(login("wan_reviewer"))
    client = login("wan_reviewer")
    response = client.post("/accounts/2fa/verify/", {"code": code(device, ahead=1), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_recovery_code_logs_in_once(officer):
    _device, codes = enrol(login("wan_reviewer"))
    client = login("wan_reviewer")
    start = last_seq()
    response = client.post("/accounts/2fa/verify/", {"code": codes[0].upper(), "next": "/approvals/"})
    assert response.status_code == 302 and client.get("/approvals/").status_code == 200
    assert StaticToken.objects.filter(device__user=officer).count() == 9
    used = SecurityEvent.objects.get(seq=start + 1)
    assert used.kind == Kind.RECOVERY_CODE_USED and used.detail["left"] == 9

    again = login("wan_reviewer")
    refused = again.post("/accounts/2fa/verify/", {"code": codes[0], "next": "/approvals/"})
    assert refused.status_code == 400 and again.get("/approvals/").status_code == 302


def test_new_recovery_codes_replace_the_old_ones(officer):
    _device, old = enrol(login("wan_reviewer"))
    client = login("wan_reviewer")
    client.post("/accounts/2fa/verify/", {"code": old[0], "next": "/"})
    assert "还剩 9 个恢复码" in client.get("/accounts/2fa/recovery/").content.decode()
    new = client.post("/accounts/2fa/recovery/").context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert SecurityEvent.objects.filter(kind=Kind.RECOVERY_CODES_ISSUED).count() == 2
    other = login("wan_reviewer")
    assert other.post("/accounts/2fa/verify/", {"code": old[1], "next": "/"}).status_code == 400
    assert other.post("/accounts/2fa/verify/", {"code": new[0], "next": "/"}).status_code == 302


def test_wrong_codes_are_throttled(officer, settings):
    device, _codes = enrol(login("wan_reviewer"))
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    client = login("wan_reviewer")
    client.post("/accounts/2fa/verify/", {"code": "000000", "next": "/"})
    response = client.post("/accounts/2fa/verify/", {"code": code(device, ahead=1), "next": "/"})
    assert response.status_code == 400 and "错误次数过多" in response.content.decode()
    assert SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_FAILED).latest("seq").detail["throttled"] is True


def test_administrators_need_a_second_factor_at_any_level(county):
    admin = MembershipFactory(user=UserFactory(username="langya_admin"), organization=county, role=Role.ADMIN).user
    assert login(admin.username).get("/approvals/")["Location"].startswith("/accounts/2fa/setup/")
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert login(superuser.username).get("/admin/")["Location"].startswith("/accounts/2fa/setup/")


def test_a_county_clerk_may_work_without_it_and_once_enrolled_is_asked(county):
    MembershipFactory(user=UserFactory(username="langya_clerk"), organization=county, role=Role.CLERK)
    client = login("langya_clerk")
    assert client.get("/approvals/").status_code == 200
    setup = client.get("/accounts/2fa/setup/")
    assert setup.status_code == 200 and not setup.context["required"]
    enrol(client)
    assert login("langya_clerk").get("/approvals/")["Location"] == "/accounts/2fa/verify/?next=/approvals/"


@override_settings(TWO_FACTOR_REQUIRED=False)
def test_with_the_role_rule_off_an_enrolled_user_is_still_asked(officer):
    assert login("wan_reviewer").get("/approvals/").status_code == 200
    enrol(login("wan_reviewer"))
    assert login("wan_reviewer").get("/approvals/").status_code == 302


def test_production_keeps_the_role_rule_on():
    text = open("config/settings/production.py", encoding="utf-8").read()
    assert "\nTWO_FACTOR_REQUIRED = True\n" in text


# ----------------------------------------------------------------------------------- administrator reset


def _admin_action(client, user_ids):
    """The membership list's action: select the people's memberships."""
    ids = list(Membership.objects.filter(user_id__in=user_ids).values_list("pk", flat=True))
    return client.post("/admin/orgs/membership/", {"action": "reset_two_factor", "_selected_action": ids})


def test_a_security_administrator_resets_a_lost_device_in_their_subtree_and_it_is_written(province, county,
                                                                                          officer):
    clerk = MembershipFactory(user=UserFactory(username="langya_clerk"), organization=county, role=Role.CLERK).user
    enrol(login("langya_clerk"))
    Token.objects.create(user=clerk)
    admin = MembershipFactory(user=UserFactory(username="chuzhou_admin", is_staff=True),
                              organization=county.parent, role=Role.SECURITY_ADMIN).user
    client = login(admin.username)
    device, _codes = enrol(client)
    response = _admin_action(client, [clerk.pk])
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=clerk).exists()
    assert not StaticToken.objects.filter(device__user=clerk).exists()
    assert not Token.objects.filter(user=clerk).exists()
    reset = SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_RESET).get()
    assert (reset.username, reset.target) == ("chuzhou_admin", "langya_clerk")
    # the clerk enrols again at the next login (they chose it; nothing is required of a county clerk)
    assert login("langya_clerk").get("/approvals/").status_code == 200
    # the province officer is outside the city administrator's subtree, and one's own device is not reset
    enrol(login("wan_reviewer"))
    _admin_action(client, [officer.pk, admin.pk])
    assert TOTPDevice.objects.filter(user=officer, confirmed=True).exists()
    assert TOTPDevice.objects.filter(user=admin, confirmed=True).exists()
    assert SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_RESET).count() == 1


# -------------------------------------------------------------------------------------------- API tokens


def token_call(body: dict):
    return APIClient(REMOTE_ADDR="198.51.100.20").post("/api/auth/token/", body, format="json")


def test_an_api_token_needs_a_code_from_whoever_logs_in_with_one(officer):
    body = {"username": "wan_reviewer", "password": TEST_PASSWORD}
    not_enrolled = token_call(body)
    assert not_enrolled.status_code == 400 and not_enrolled.json()["code"] == "two_factor_required"
    assert "尚未启用双因素认证" in not_enrolled.json()["message"]
    device, _codes = enrol(login("wan_reviewer"))
    missing = token_call(body)
    assert missing.status_code == 400 and missing.json()["code"] == "two_factor_required"
    assert "otp" in missing.json()["errors"]
    wrong = token_call({**body, "otp": "111111"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "two_factor_failed"
    assert not Token.objects.filter(user=officer).exists()
    right = token_call({**body, "otp": code(device, ahead=1)})
    assert right.status_code == 200 and right.json()["token"] == Token.objects.get(user=officer).key
    assert right.json()["scope"] == "write"
    step = SecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_VERIFIED).latest("seq")
    assert step.detail == {"step": "api_token"} and step.client_ip == "198.51.100.20"
    assert Kind.TOKEN_ISSUED in kinds_since(step.seq)


def test_a_county_clerk_without_a_device_gets_a_token_with_the_password(county):
    MembershipFactory(user=UserFactory(username="langya_clerk"), organization=county, role=Role.CLERK)
    assert token_call({"username": "langya_clerk", "password": TEST_PASSWORD}).status_code == 200


def test_a_read_token_only_reads(county):
    MembershipFactory(user=UserFactory(username="langya_clerk"), organization=county, role=Role.CLERK)
    key = token_call({"username": "langya_clerk", "password": TEST_PASSWORD, "scope": "read"}).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/applications/").status_code == 200
    refused = client.post("/api/applications/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "token_scope"
    bad_scope = token_call({"username": "langya_clerk", "password": TEST_PASSWORD, "scope": "admin"})
    assert bad_scope.status_code == 400 and "scope" in bad_scope.json()["errors"]
    # asking for a write token replaces the read one
    write = token_call({"username": "langya_clerk", "password": TEST_PASSWORD, "scope": "write"}).json()["token"]
    assert write != key and not Token.objects.filter(key=key).exists()


def test_a_token_expires_and_is_revoked_on_use(county, settings):
    clerk = MembershipFactory(user=UserFactory(username="langya_clerk"), organization=county,
                              role=Role.CLERK).user
    key = token_call({"username": "langya_clerk", "password": TEST_PASSWORD}).json()["token"]
    Token.objects.filter(key=key).update(created=timezone.now() - dt.timedelta(hours=settings.API_TOKEN_MAX_AGE_HOURS,
                                                                                   seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/applications/")
    assert response.status_code == 401 and response.json()["code"] == "token_expired"
    assert not Token.objects.filter(key=key).exists()
    assert SecurityEvent.objects.filter(kind=Kind.TOKEN_EXPIRED, username="langya_clerk").exists()
    assert client.get("/api/applications/").status_code == 401
    fresh = token_call({"username": "langya_clerk", "password": TEST_PASSWORD}).json()["token"]
    assert fresh != key and Token.objects.get(user=clerk).key == fresh


def test_a_token_is_revoked_by_its_holder(county):
    MembershipFactory(user=UserFactory(username="langya_clerk"), organization=county, role=Role.CLERK)
    key = token_call({"username": "langya_clerk", "password": TEST_PASSWORD, "scope": "read"}).json()["token"]
    client = APIClient()
    assert client.delete("/api/auth/token/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete("/api/auth/token/").status_code == 204
    assert not Token.objects.filter(key=key).exists()
    assert SecurityEvent.objects.filter(kind=Kind.TOKEN_REVOKED).exists()
    assert client.get("/api/applications/").status_code == 401


def test_the_demo_tool_enrols_and_prints_a_working_code(officer, settings):
    settings.DEMO_TOOLS = False
    with pytest.raises(CommandError):
        call_command("demo_totp", "wan_reviewer")
    settings.DEMO_TOOLS = True
    out = StringIO()
    call_command("demo_totp", "wan_reviewer", stdout=out)
    printed = out.getvalue().strip().splitlines()[-1][-6:]
    client = login("wan_reviewer")
    assert client.post("/accounts/2fa/verify/", {"code": printed, "next": "/"}).status_code == 302
    assert client.get("/approvals/").status_code == 200
