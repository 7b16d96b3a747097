"""三员分立 (orgs.access.DUTIES): the system administrator (管理员) manages organizations, users and batches;
the security administrator (安全管理员) roles, memberships, delegations and second-factor resets; the
auditor (审计员) reads the audit digests and changes nothing. Each is refused the others' pages, and no one
holds two of the roles."""
import pytest
from django.test import Client

from orgs.access import DUTIES, principal_build
from orgs.models import Level, Membership, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

SYSTEM = ("/admin/orgs/organization/", "/admin/auth/user/", "/admin/approvals/batch/")
SECURITY = ("/admin/orgs/membership/", "/admin/orgs/delegation/")
AUDIT = ("/approvals/audit-digests/",)


@pytest.fixture
def province():
    return OrganizationFactory(level=Level.PROVINCE, name="安徽省科协")


def person(province, role, name):
    user = UserFactory(username=name, is_staff=role in (Role.ADMIN, Role.SECURITY_ADMIN))
    MembershipFactory(user=user, organization=province, role=role)
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return user, client


def allowed(response) -> bool:
    return response.status_code == 200


@pytest.mark.parametrize("role, may", [
    (Role.ADMIN, SYSTEM), (Role.SECURITY_ADMIN, SECURITY), (Role.AUDITOR, AUDIT),
])
def test_each_administrator_has_their_own_pages_and_is_refused_the_others(province, role, may):
    _user, client = person(province, role, f"p_{role}")
    for url in SYSTEM + SECURITY + AUDIT:
        assert allowed(client.get(url)) == (url in may), (role, url)


def test_the_duties_are_declared_once_and_held_by_an_own_membership_only(province):
    user, _client = person(province, Role.SECURITY_ADMIN, "sec")
    principal = principal_build(user=user)
    assert principal.duty_paths("memberships") == {province.path} == principal.duty_paths("two_factor")
    assert principal.duty_paths("organizations") == set() == principal.admin_paths()
    assert set(DUTIES.values()) == {Role.ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR}


def test_no_one_holds_two_administrator_roles(province):
    user, client = person(province, Role.SECURITY_ADMIN, "sec")
    admin = UserFactory(username="sys")
    MembershipFactory(user=admin, organization=province, role=Role.ADMIN)
    city = OrganizationFactory(level=Level.CITY, parent=province)
    response = client.post("/admin/orgs/membership/add/", {
        "user": admin.pk, "organization": city.pk, "role": Role.AUDITOR})
    assert response.status_code == 200
    assert "三员分立：该用户已担任管理员，不能再担任审计员" in response.content.decode()
    assert not Membership.objects.filter(user=admin, role=Role.AUDITOR).exists()
    # another role is fine
    response = client.post("/admin/orgs/membership/add/", {
        "user": admin.pk, "organization": city.pk, "role": Role.REVIEWER})
    assert response.status_code == 302


def test_the_system_administrator_gives_a_new_account_its_first_role_but_not_an_administrator_one(province):
    _user, client = person(province, Role.ADMIN, "sys")
    form = {"username": "new_one", "password1": "Xk9!long-pass", "password2": "Xk9!long-pass",
            "memberships-TOTAL_FORMS": "1", "memberships-INITIAL_FORMS": "0", "memberships-MIN_NUM_FORMS": "1",
            "memberships-MAX_NUM_FORMS": "1000", "memberships-0-organization": province.pk,
            "memberships-0-role": Role.SECURITY_ADMIN}
    response = client.post("/admin/auth/user/add/", form)
    assert response.status_code == 200 and "由安全管理员" in response.content.decode()
    response = client.post("/admin/auth/user/add/", {**form, "memberships-0-role": Role.CLERK})
    assert response.status_code == 302
    new = Membership.objects.get(user__username="new_one")
    assert new.role == Role.CLERK
    # later memberships are not changed from the user page: the inline is read-only there
    page = client.get(f"/admin/auth/user/{new.user_id}/change/").content.decode()
    assert 'name="memberships-0-role"' not in page
