"""seed_demo: the demo organizations, societies and users, idempotence, and printed passwords that work."""
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest

from orgs.demo import demo_seed, demo_usernames
from orgs.models import Division, Level, Membership, Organization, OrgKind, Role
from orgs.selectors import kexie_of_division, users_with_role
from orgs.services import divisions_import

PREFIXES = ("anhui", "chuzhou", "langya", "nanqiao", "sichuan", "chengdu", "pidu")
ROLES = ("clerk", "leader", "reviewer", "expert", "admin", "auditor", "secadmin")
USERNAMES = {f"{p}_{r}" for p in PREFIXES for r in ROLES} | {"anhui_expert2", "sichuan_expert2"}
TABLE_HEADER = ["用户名", "姓名", "组织", "角色", "密码"]
KEPT_MESSAGE = "51 个演示用户已存在，保留原密码（如需新密码，请使用 --reset-passwords）"
# 中国科协 + 安徽 (1 + 16 + 119) + 四川 (1 + 21 + 183) + 山东 (1 + 16 + 151)
KEXIE_COUNT = 1 + 136 + 205 + 168


def _seed(*args) -> list[str]:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue().splitlines()


def _credentials(lines: list[str]) -> dict[str, tuple]:
    """Rows of the printed password table, by user name."""
    header_at = next(i for i, line in enumerate(lines) if line.split() == TABLE_HEADER)
    rows = [line.split() for line in lines[header_at + 1:] if len(line.split()) == 5]
    return {row[0]: tuple(row) for row in rows}


def _counts() -> dict[str, int]:
    return {
        "divisions": Division.objects.count(),
        "organizations": Organization.objects.count(),
        "users": get_user_model().objects.count(),
        "memberships": Membership.objects.count(),
    }


def _can_log_in(client, username: str, password: str) -> bool:
    # axes' backend needs a request; client.login passes the credentials on to authenticate().
    ok = client.login(request=HttpRequest(), username=username, password=password)
    client.logout()
    return ok


@pytest.mark.django_db
def test_seed_demo_creates_the_organizations_societies_and_users():
    lines = _seed()

    assert lines[0] == "以下 51 个演示用户的密码只显示这一次，请妥善保存："
    assert lines[1].split() == TABLE_HEADER
    assert lines[-1] == "演示数据已就绪"
    assert len(lines) == 54
    assert _counts() == {"divisions": 3346, "organizations": KEXIE_COUNT + 3, "users": 51, "memberships": 51}
    assert Organization.objects.filter(kind=OrgKind.KEXIE).count() == KEXIE_COUNT
    for code, cities, counties in (("34", 16, 119), ("51", 21, 183), ("37", 16, 151)):
        kexie = Organization.objects.filter(kind=OrgKind.KEXIE, division__code__startswith=code)
        assert kexie.filter(level=Level.CITY).count() == cities
        assert kexie.filter(level=Level.COUNTY).count() == counties
    assert set(demo_usernames()) == USERNAMES
    assert set(get_user_model().objects.values_list("username", flat=True)) == USERNAMES


@pytest.mark.django_db
def test_societies_hang_under_the_right_organizations():
    demo_seed()
    root = Organization.objects.get(kind=OrgKind.KEXIE, level=Level.NATIONAL, parent=None)
    anhui = Organization.objects.get(kind=OrgKind.KEXIE, division_id="340000")
    chuzhou = Organization.objects.get(kind=OrgKind.KEXIE, division_id="341100")

    societies = {
        o.name: (o.level, o.parent, o.division_id, o.path)
        for o in Organization.objects.filter(kind=OrgKind.SOCIETY).select_related("parent")
    }

    assert (root.name, anhui.name, chuzhou.name) == ("中国科学技术协会", "安徽省科学技术协会", "滁州市科学技术协会")
    mech = Organization.objects.get(name="中国机械工程学会").pk
    ah_mech = Organization.objects.get(name="安徽省机械工程学会").pk
    cz_cs = Organization.objects.get(name="滁州市计算机学会").pk
    assert societies == {
        "中国机械工程学会": ("national", root, None, f"{root.path}{mech}/"),
        "安徽省机械工程学会": ("province", anhui, "340000", f"{anhui.path}{ah_mech}/"),
        "滁州市计算机学会": ("city", chuzhou, "341100", f"{chuzhou.path}{cz_cs}/"),
    }


@pytest.mark.django_db
def test_one_user_per_role_per_chain_organization_with_chinese_names():
    rows = demo_seed()
    User = get_user_model()

    langya = User.objects.get(username="langya_clerk")
    assert (langya.first_name, langya.email) == ("琅琊区科协经办人", "langya_clerk@demo.kexie.example")
    assert (langya.is_staff, langya.is_superuser, langya.is_active) == (False, False, True)
    memberships = {
        (m.user.username, m.organization.name, m.role)
        for m in Membership.objects.select_related("user", "organization")
    }
    chain = {
        "anhui": "安徽省科学技术协会", "chuzhou": "滁州市科学技术协会", "langya": "琅琊区科学技术协会",
        "nanqiao": "南谯区科学技术协会", "sichuan": "四川省科学技术协会", "chengdu": "成都市科学技术协会",
        "pidu": "郫都区科学技术协会",
    }
    assert memberships == {(f"{p}_{r}", chain[p], r) for p in PREFIXES for r in ROLES} | {
        ("anhui_expert2", "安徽省科学技术协会", "expert"),
        ("sichuan_expert2", "四川省科学技术协会", "expert"),
    }
    sample = User.objects.filter(username__in=["chuzhou_reviewer", "sichuan_expert", "anhui_expert2", "pidu_auditor"])
    assert {(u.username, u.first_name) for u in sample} == {
        ("chuzhou_reviewer", "滁州市科协审核人"),
        ("sichuan_expert", "四川省科协评审专家"),
        ("anhui_expert2", "安徽省科协评审专家2"),
        ("pidu_auditor", "郫都区科协审计员"),
    }
    admins = {f"{p}_{role}" for p in PREFIXES for role in ("admin", "secadmin")}
    assert set(User.objects.filter(is_staff=True).values_list("username", flat=True)) == admins
    # The demo makes no superuser: its administrators are scoped to their organizations (createsuperuser
    # makes a system administrator).
    assert not User.objects.filter(is_superuser=True).exists()
    assert all(u.email == f"{u.username}@demo.kexie.example" for u in User.objects.all())
    assert len(rows) == 51
    assert rows[0][:4] == ("anhui_clerk", "安徽省科协经办人", "安徽省科学技术协会", "经办人")
    assert rows[-1][:4] == ("sichuan_expert2", "四川省科协评审专家2", "四川省科学技术协会", "评审专家")
    assert len({row[4] for row in rows}) == 51
    assert all(len(row[4]) == 12 for row in rows)


@pytest.mark.django_db
def test_province_expert_review_has_two_experts():
    demo_seed()

    for code, prefix in (("340000", "anhui"), ("510000", "sichuan")):
        experts = users_with_role(organization=kexie_of_division(code=code), role=Role.EXPERT)
        assert [u.username for u in experts] == [f"{prefix}_expert", f"{prefix}_expert2"]


@pytest.mark.django_db
def test_seed_demo_twice_creates_nothing_and_prints_no_passwords():
    first = _seed()
    after_first = _counts()
    passwords = {row[4] for row in _credentials(first).values()}
    hashes = dict(get_user_model().objects.values_list("username", "password"))

    second = _seed()

    assert _counts() == after_first
    assert second == [KEPT_MESSAGE, "演示数据已就绪"]
    assert not any(p in line for p in passwords for line in second)
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes
    assert demo_seed() == []


@pytest.mark.django_db
def test_every_demo_user_logs_in_with_the_printed_password(client):
    credentials = _credentials(_seed())

    assert set(credentials) == USERNAMES
    for username, (_u, _name, _org, _role, password) in credentials.items():
        assert _can_log_in(client, username, password), username
    assert not _can_log_in(client, "anhui_clerk", "wrong-password")


@pytest.mark.django_db
def test_reset_passwords_prints_new_working_passwords_for_every_demo_user(client):
    old = _credentials(_seed())
    counts = _counts()

    lines = _seed("--reset-passwords")
    new = _credentials(lines)

    assert lines[0] == "以下 51 个演示用户的密码只显示这一次，请妥善保存："
    assert KEPT_MESSAGE not in lines
    assert _counts() == counts
    assert set(new) == USERNAMES
    assert {u: row[:4] for u, row in new.items()} == {u: row[:4] for u, row in old.items()}
    assert not _can_log_in(client, "langya_leader", old["langya_leader"][4])
    for username, row in new.items():
        assert row[4] != old[username][4]
        assert _can_log_in(client, username, row[4]), username


@pytest.mark.django_db
def test_existing_divisions_are_not_reimported():
    divisions_import()
    Division.objects.filter(code="341102").update(name="琅琊区（本地修改）")

    demo_seed()

    assert Division.objects.get(code="341102").name == "琅琊区（本地修改）"
    assert Organization.objects.get(division_id="341102").name == "琅琊区（本地修改）科学技术协会"
    assert get_user_model().objects.get(username="langya_clerk").first_name == "琅琊区（本地修改）科协经办人"


@pytest.mark.django_db
def test_missing_demo_divisions_fail_in_chinese_and_change_nothing(tmp_path):
    only_anhui = tmp_path / "anhui.csv"
    only_anhui.write_text(
        "code,name,level,parent_code\n340000,安徽省,province,\n341100,滁州市,city,340000\n"
        "341102,琅琊区,county,341100\n341103,南谯区,county,341100\n",
        encoding="utf-8",
    )
    divisions_import(path=only_anhui)

    with pytest.raises(CommandError) as excinfo:
        _seed()

    assert str(excinfo.value) == (
        "演示数据创建失败，未做任何更改：演示数据需要有效的区划 510000 及其科协，但没有找到（请先导入区划）"
    )
    # Anhui's organizations were created before the error and rolled back with it.
    assert _counts() == {"divisions": 4, "organizations": 0, "users": 0, "memberships": 0}
