"""The security log: every kind of event written by the part that causes it, the chain verified, and each
kind of tampering (an edited field, a removed event in the middle or at the end, a forged link) found."""
import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from rest_framework.authtoken.models import Token

from orgs.models import Membership, Role
from security.middleware import SecurityContextMiddleware
from security.models import Kind, SecurityChainHead, SecurityEvent
from security.selectors import security_verify
from security.services import security_record
from tests.factories import (
    TEST_PASSWORD,
    DelegationFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def kinds() -> list[str]:
    return list(SecurityEvent.objects.order_by("seq").values_list("kind", flat=True))


def last(kind) -> SecurityEvent:
    return SecurityEvent.objects.filter(kind=kind).latest("seq")


@pytest.fixture
def user():
    return UserFactory(username="zhang")


def test_login_failed_login_and_logout_are_written_with_the_address(user):
    client = Client(REMOTE_ADDR="203.0.113.9")
    client.post("/accounts/login/", {"username": "zhang", "password": "wrong"})
    failed = last(Kind.LOGIN_FAILED)
    assert (failed.username, failed.actor_id, failed.client_ip) == ("zhang", None, "203.0.113.9")
    client.post("/accounts/login/", {"username": "zhang", "password": TEST_PASSWORD})
    login = last(Kind.LOGIN)
    assert (login.actor_id, login.username, login.client_ip) == (user.pk, "zhang", "203.0.113.9")
    client.post("/accounts/logout/")
    assert kinds()[-3:] == [Kind.LOGIN_FAILED, Kind.LOGIN, Kind.LOGOUT]
    assert security_verify()[0]


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_a_lockout_is_written(user):
    for _ in range(3):
        Client(REMOTE_ADDR="198.51.100.4").post("/accounts/login/", {"username": "zhang", "password": "bad"})
    lockout = last(Kind.LOCKOUT)
    assert (lockout.username, lockout.client_ip) == ("zhang", "198.51.100.4")
    assert kinds().count(Kind.LOGIN_FAILED) == 3


def test_account_password_and_privilege_changes(user):
    assert last(Kind.USER_CREATED).target == "zhang"
    user.set_password("another-Passw0rd")
    user.save()
    assert last(Kind.PASSWORD_CHANGED).target == "zhang"
    user.is_staff = True
    user.is_superuser = True
    user.save()
    assert last(Kind.PRIVILEGE_CHANGED).detail == {"is_staff": [False, True], "is_superuser": [False, True]}
    before = SecurityEvent.objects.count()
    user.first_name = "张三"
    user.save()
    user.save(update_fields=["last_login"])
    assert SecurityEvent.objects.count() == before  # a name or a login time is not a security event
    user.delete()
    assert last(Kind.USER_DELETED).target == "zhang"


def test_group_and_permission_changes(user):
    group = Group.objects.create(name="省级审核")
    permission = Permission.objects.get(codename="change_membership")
    user.groups.add(group)
    assert last(Kind.GROUP_CHANGED).detail == {"op": "add", "items": ["省级审核"]}
    user.user_permissions.add(permission)
    assert last(Kind.PERMISSION_CHANGED).detail == {"op": "add", "items": ["orgs.change_membership"]}
    group.permissions.add(permission)
    assert last(Kind.PERMISSION_CHANGED).target == "省级审核"
    user.groups.remove(group)
    assert last(Kind.GROUP_CHANGED).detail["op"] == "remove"


def test_membership_and_delegation_changes(user):
    org = OrganizationFactory(name="安徽省科协")
    membership = MembershipFactory(user=user, organization=org, role=Role.REVIEWER)
    event = last(Kind.MEMBERSHIP_CHANGED)
    assert (event.detail["op"], event.detail["user"], event.detail["role"]) == ("add", "zhang", "reviewer")
    membership.role = Role.ADMIN
    membership.save()
    assert last(Kind.MEMBERSHIP_CHANGED).detail["op"] == "change"
    Membership.objects.filter(pk=membership.pk).first().delete()
    assert last(Kind.MEMBERSHIP_CHANGED).detail["op"] == "remove"
    delegator = UserFactory()
    DelegationFactory(delegator=delegator, delegate=user, organization=org, role=Role.REVIEWER)
    event = last(Kind.DELEGATION_CHANGED)
    assert (event.detail["op"], event.actor_id, event.detail["delegate"]) == ("add", delegator.pk, user.pk)


def test_an_edit_during_a_request_is_stamped_with_the_acting_user():
    """Written from a model signal while a request is served (an admin's edit): the middleware gives the
    event the request's user and address."""
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    target = UserFactory(username="li")
    group = Group.objects.create(name="g")
    request = RequestFactory().post("/admin/auth/user/", REMOTE_ADDR="192.0.2.1")
    request.user = admin

    def view(request):
        target.is_staff = True
        target.save()
        target.groups.add(group)
        return HttpResponse()

    SecurityContextMiddleware(view)(request)
    event = last(Kind.PRIVILEGE_CHANGED)
    assert (event.username, event.actor_id, event.client_ip, event.target) == ("root", admin.pk, "192.0.2.1", "li")
    assert last(Kind.GROUP_CHANGED).username == "root"
    security_record(Kind.EXPORT, actor=target)  # after the request: no request's address any more
    assert last(Kind.EXPORT).client_ip is None


def test_api_tokens_issued_and_revoked(user):
    # The API takes JSON bodies only (docs/api.md).
    response = Client().post("/api/auth/token/", {"username": "zhang", "password": TEST_PASSWORD},
                             content_type="application/json")
    assert response.status_code == 200, response.content
    assert last(Kind.TOKEN_ISSUED).actor_id == user.pk
    Token.objects.get(user=user).delete()
    assert last(Kind.TOKEN_REVOKED).target == str(user.pk)


def tamper(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def chain(user):
    for n in range(4):
        security_record(Kind.EXPORT, actor=user, ip="10.0.0.1", target=f"export {n}", detail={"rows": n})
    ok, message = security_verify()
    assert ok, message
    return list(SecurityEvent.objects.order_by("seq"))


def test_verify_command_passes_on_an_intact_chain(chain, capsys):
    call_command("verify_security_log")
    assert f"{len(chain)} 条安全日志" in capsys.readouterr().out


def test_an_edited_event_is_found(chain):
    tamper("update security_securityevent set target = %s where seq = %s", ["export X", chain[2].seq])
    ok, message = security_verify()
    assert not ok and f"第 {chain[2].seq} 条的内容被改动" in message
    with pytest.raises(SystemExit):
        call_command("verify_security_log")


def test_an_event_removed_from_the_middle_is_found(chain):
    tamper("delete from security_securityevent where seq = %s", [chain[1].seq])
    ok, message = security_verify()
    assert not ok and f"第 {chain[1].seq} 条缺失" in message


def test_a_removed_tail_is_found(chain):
    tamper("delete from security_securityevent where seq = %s", [chain[-1].seq])
    ok, message = security_verify()
    assert not ok and "末尾的记录被删除" in message


def test_a_rehashed_event_breaks_the_next_link(chain):
    """Recomputing an edited event's own hash is not enough: the next event names the old one."""
    event = chain[1]
    event.target = "forged"
    tamper("update security_securityevent set target = %s, hash = %s where seq = %s",
           ["forged", event.compute_hash(), event.seq])
    ok, message = security_verify()
    assert not ok and f"第 {chain[2].seq} 条与前一条的链接不符" in message


def test_events_are_append_only(chain):
    with pytest.raises(PermissionError):
        chain[0].save()
    with pytest.raises(PermissionError):
        chain[0].delete()
    assert SecurityChainHead.objects.get().seq == len(chain)


def test_an_administrative_edit_is_written_with_what_changed():
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    organization = OrganizationFactory(name="旧名")
    client = Client(REMOTE_ADDR="203.0.113.50")
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(f"/admin/orgs/organization/{organization.pk}/change/", {
        "name": "新名", "kind": organization.kind, "level": organization.level, "active": "on",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0", "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000"})
    assert response.status_code == 302, response.content.decode()[:2000]
    edit = last(Kind.ADMIN_EDIT)
    assert (edit.username, edit.client_ip, edit.target) == ("root", "203.0.113.50",
                                                           f"orgs.organization:{organization.pk}")
    assert edit.detail["op"] == "change" and edit.detail["object"] == "新名"
    assert security_verify()[0]
