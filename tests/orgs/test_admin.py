"""Admin pages for divisions and organizations open for a demo admin and search by name."""
import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from orgs.demo import demo_seed
from orgs.models import Organization
from security.passwords import record_change


@pytest.fixture
def passwords(db):
    """The demo's printed passwords, as if each holder had then chosen it at the first login (the forced
    change itself: tests/security/test_password_change.py)."""
    rows = {row[0]: row[4] for row in demo_seed()}
    for user in get_user_model().objects.filter(username__in=rows):
        record_change(user)
    return rows


def _login(client, passwords, username):
    assert client.login(request=HttpRequest(), username=username, password=passwords[username])


@pytest.mark.django_db
def test_demo_admin_opens_the_organization_list(client, passwords):
    _login(client, passwords, "anhui_admin")

    response = client.get("/admin/orgs/organization/")

    assert response.status_code == 200
    # The province's administrator manages the province's subtree only (not the national root, not 四川).
    anhui = Organization.objects.get(division_id="340000", kind="kexie")
    names = {o.name for o in response.context["cl"].queryset}
    assert "中国科学技术协会" not in names and "安徽省科学技术协会" in names and "四川省科学技术协会" not in names
    in_anhui = Organization.objects.filter(path__startswith=anhui.path).count()
    assert response.context["cl"].result_count == in_anhui == 138 < Organization.objects.count() == 513


@pytest.mark.django_db
def test_demo_admin_searches_organizations_by_name(client, passwords):
    _login(client, passwords, "anhui_admin")

    response = client.get("/admin/orgs/organization/", {"q": "滁州"})

    assert response.status_code == 200
    assert "滁州市" in response.content.decode()
    # The city itself first, then its society and every organization directly under it (their order under
    # the city follows the database's collation of the tree path).
    names = [o.name for o in response.context["cl"].result_list]
    assert names[0] == "滁州市科学技术协会"
    assert sorted(names[1:]) == sorted(["滁州市计算机学会"] + [
        f"{name}科学技术协会" for name in (
            "琅琊区", "南谯区", "来安县", "全椒县", "定远县", "凤阳县", "中新苏滁高新技术产业开发区",
            "滁州经济技术开发区", "天长市", "明光市",
        )
    ])


@pytest.mark.django_db
def test_demo_admin_searches_divisions_by_name(client, passwords):
    _login(client, passwords, "chengdu_admin")

    response = client.get("/admin/orgs/division/?q=滁州")

    assert response.status_code == 200
    assert "滁州市" in response.content.decode()
    assert [str(d) for d in response.context["cl"].result_list] == ["341100 滁州市", "341172 滁州经济技术开发区"]


@pytest.mark.django_db
def test_demo_admin_searches_divisions_by_code(client, passwords):
    _login(client, passwords, "anhui_admin")

    response = client.get("/admin/orgs/division/", {"q": "341102"})

    assert response.status_code == 200
    assert [str(d) for d in response.context["cl"].result_list] == ["341102 琅琊区"]


@pytest.mark.django_db
def test_demo_admin_opens_an_organization_without_its_memberships(client, passwords):
    """三员分立: memberships are the security administrator's; the system administrator's page of an
    organization does not list them."""
    _login(client, passwords, "anhui_admin")
    langya = Organization.objects.get(division_id="341102")

    response = client.get(f"/admin/orgs/organization/{langya.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "琅琊区科学技术协会" in page
    assert "memberships-TOTAL_FORMS" not in page and "langya_clerk" not in page


@pytest.mark.django_db
def test_demo_security_admin_opens_the_membership_list(client, passwords):
    _login(client, passwords, "anhui_secadmin")

    response = client.get("/admin/orgs/membership/", {"q": "langya"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 7
    _login(client, passwords, "anhui_admin")
    assert client.get("/admin/orgs/membership/").status_code == 403


@pytest.mark.django_db
def test_a_demo_user_without_staff_rights_is_sent_to_the_admin_login(client, passwords):
    _login(client, passwords, "anhui_clerk")

    response = client.get("/admin/orgs/organization/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/orgs/organization/"
