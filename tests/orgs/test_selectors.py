"""Scope selectors over the organization tree: exact subtrees, ancestors, role holders, constant queries."""
import datetime

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone

from orgs.models import Level, Membership, Organization, OrgKind, Role
from orgs.selectors import (
    memberships_of,
    organization_ancestor_at_level,
    organizations_under,
    users_with_role,
)
from orgs.services import divisions_import, organizations_ensure_for_province
from tests.factories import (
    TEST_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    organization_tree_build,
)


@pytest.fixture
def tree():
    """root > 省A (> 市A1 > 县A1a, 县A1b; 市A2 > 县A2a; 学会A) and 省B > 市B1 > 县B1a."""
    t = {"root": OrganizationFactory(name="中国科协", level=Level.NATIONAL)}
    t["pa"] = OrganizationFactory(name="省A", level=Level.PROVINCE, parent=t["root"])
    t["pb"] = OrganizationFactory(name="省B", level=Level.PROVINCE, parent=t["root"])
    t["ca1"] = OrganizationFactory(name="市A1", level=Level.CITY, parent=t["pa"])
    t["ca2"] = OrganizationFactory(name="市A2", level=Level.CITY, parent=t["pa"])
    t["cb1"] = OrganizationFactory(name="市B1", level=Level.CITY, parent=t["pb"])
    t["ka1a"] = OrganizationFactory(name="县A1a", level=Level.COUNTY, parent=t["ca1"])
    t["ka1b"] = OrganizationFactory(name="县A1b", level=Level.COUNTY, parent=t["ca1"])
    t["ka2a"] = OrganizationFactory(name="县A2a", level=Level.COUNTY, parent=t["ca2"])
    t["kb1a"] = OrganizationFactory(name="县B1a", level=Level.COUNTY, parent=t["cb1"])
    t["sa"] = OrganizationFactory(name="学会A", kind=OrgKind.SOCIETY, level=Level.PROVINCE, parent=t["pa"])
    return t


def _names(qs) -> set[str]:
    return {o.name for o in qs}


@pytest.mark.django_db
def test_paths_follow_the_parents(tree):
    assert tree["root"].path == f"/{tree['root'].pk}/"
    assert tree["ka1a"].path == f"/{tree['root'].pk}/{tree['pa'].pk}/{tree['ca1'].pk}/{tree['ka1a'].pk}/"
    assert Organization.objects.get(pk=tree["ka1a"].pk).path == tree["ka1a"].path
    assert tree["ka1a"].ancestor_ids == [tree["root"].pk, tree["pa"].pk, tree["ca1"].pk, tree["ka1a"].pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("root", {"中国科协", "省A", "省B", "市A1", "市A2", "市B1", "县A1a", "县A1b", "县A2a", "县B1a", "学会A"}),
        ("pa", {"省A", "市A1", "市A2", "县A1a", "县A1b", "县A2a", "学会A"}),
        ("ca1", {"市A1", "县A1a", "县A1b"}),
        ("cb1", {"市B1", "县B1a"}),
        ("ka1a", {"县A1a"}),
        ("sa", {"学会A"}),
    ],
)
def test_organizations_under_is_exactly_the_subtree(tree, key, expected):
    assert _names(organizations_under(organization=tree[key])) == expected
    assert _names(organizations_under(organization=tree[key], include_self=False)) == expected - {tree[key].name}


@pytest.mark.django_db
def test_a_county_never_sees_a_sibling_county_and_a_city_never_sees_another_citys_counties(tree):
    assert _names(organizations_under(organization=tree["ka1b"])) == {"县A1b"}
    assert tree["ka1a"] not in organizations_under(organization=tree["ka1b"])
    assert tree["ka1b"] not in organizations_under(organization=tree["ka1a"])
    assert not tree["ka1a"].is_under(tree["ka1b"])
    assert _names(organizations_under(organization=tree["ca1"])) & {"县A2a", "县B1a"} == set()
    assert _names(organizations_under(organization=tree["ca2"])) == {"市A2", "县A2a"}
    assert _names(organizations_under(organization=tree["pb"])) == {"省B", "市B1", "县B1a"}


@pytest.mark.django_db
def test_a_sibling_whose_id_starts_with_another_ids_digits_is_not_in_its_scope(tree):
    # Ids chosen so that "/…/8000001" is a string prefix of "/…/80000012/": only the trailing "/" tells them apart.
    short = OrganizationFactory(id=8000001, name="县短", level=Level.COUNTY, parent=tree["ca2"])
    long = OrganizationFactory(id=80000012, name="县长", level=Level.COUNTY, parent=tree["ca2"])
    child_of_short = OrganizationFactory(name="短下属", level=Level.COUNTY, parent=short)

    assert long.path.startswith(short.path.rstrip("/"))
    assert _names(organizations_under(organization=short)) == {"县短", "短下属"}
    assert _names(organizations_under(organization=long)) == {"县长"}
    assert _names(organizations_under(organization=tree["ca2"])) == {"市A2", "县A2a", "县短", "县长", "短下属"}
    assert child_of_short.is_under(short) and not long.is_under(short)


@pytest.mark.django_db
def test_subtrees_of_imported_divisions():
    divisions_import()
    organizations_ensure_for_province(province_code="340000")
    organizations_ensure_for_province(province_code="510000")
    kexie = Organization.objects.filter(kind=OrgKind.KEXIE).select_related("division")
    by_code = {o.division_id: o for o in kexie if o.division_id}

    chuzhou = organizations_under(organization=by_code["341100"])
    assert {o.division_id for o in chuzhou} == {o.division_id for o in kexie if (o.division_id or "")[:4] == "3411"}
    assert _names(chuzhou) == {
        "滁州市科学技术协会", "琅琊区科学技术协会", "南谯区科学技术协会", "来安县科学技术协会", "全椒县科学技术协会",
        "定远县科学技术协会", "凤阳县科学技术协会", "中新苏滁高新技术产业开发区科学技术协会",
        "滁州经济技术开发区科学技术协会", "天长市科学技术协会",
        "明光市科学技术协会",
    }
    assert _names(organizations_under(organization=by_code["341102"])) == {"琅琊区科学技术协会"}
    anhui = organizations_under(organization=by_code["340000"])
    assert anhui.count() == 1 + 16 + 119
    assert {o.division_id[:2] for o in anhui} == {"34"}
    root = Organization.objects.get(level=Level.NATIONAL, parent=None)
    assert organizations_under(organization=root).count() == 1 + (1 + 16 + 119) + (1 + 21 + 183)


@pytest.mark.django_db
def test_organization_ancestor_at_level(tree):
    county = tree["ka1a"]

    assert organization_ancestor_at_level(organization=county, level=Level.COUNTY) == county
    assert organization_ancestor_at_level(organization=county, level=Level.CITY) == tree["ca1"]
    assert organization_ancestor_at_level(organization=county, level=Level.PROVINCE) == tree["pa"]
    assert organization_ancestor_at_level(organization=county, level=Level.NATIONAL) == tree["root"]
    assert organization_ancestor_at_level(organization=tree["kb1a"], level=Level.PROVINCE) == tree["pb"]
    assert organization_ancestor_at_level(organization=tree["ka2a"], level=Level.CITY) == tree["ca2"]
    assert organization_ancestor_at_level(organization=tree["ca1"], level=Level.COUNTY) is None
    # A society at province level: its national ancestor is the root, its own level is itself.
    assert organization_ancestor_at_level(organization=tree["sa"], level=Level.PROVINCE) == tree["sa"]
    assert organization_ancestor_at_level(organization=tree["sa"], level=Level.NATIONAL) == tree["root"]


@pytest.mark.django_db
def test_users_with_role_respects_validity_dates_activity_role_and_organization(tree):
    org, on = tree["ca1"], datetime.date(2026, 3, 15)

    def member(username, role=Role.REVIEWER, organization=org, valid_from=None, valid_until=None, **user):
        return MembershipFactory(
            user=UserFactory(username=username, **user), organization=organization, role=role,
            valid_from=valid_from, valid_until=valid_until,
        ).user

    open_ended = member("open_ended")
    starts_today = member("starts_today", valid_from=on)
    ends_today = member("ends_today", valid_until=on)
    in_window = member("in_window", valid_from=datetime.date(2026, 1, 1), valid_until=datetime.date(2026, 12, 31))
    member("starts_tomorrow", valid_from=datetime.date(2026, 3, 16))
    member("ended_yesterday", valid_until=datetime.date(2026, 3, 14))
    member("inactive_user", is_active=False)
    member("other_role", role=Role.CLERK)
    member("child_org", organization=tree["ka1a"])
    member("parent_org", organization=tree["pa"])

    found = list(users_with_role(organization=org, role=Role.REVIEWER, on=on))

    assert [u.username for u in found] == ["open_ended", "starts_today", "ends_today", "in_window"]
    assert found == [open_ended, starts_today, ends_today, in_window]
    assert [u.username for u in users_with_role(organization=org, role=Role.REVIEWER, on=datetime.date(2026, 3, 17))] == [
        "open_ended", "starts_today", "in_window", "starts_tomorrow"
    ]
    assert [u.username for u in users_with_role(organization=org, role=Role.CLERK, on=on)] == ["other_role"]


@pytest.mark.django_db
def test_users_with_role_defaults_to_today(tree):
    today = timezone.localdate()
    org = tree["ka1a"]
    MembershipFactory(user=UserFactory(username="current"), organization=org, role=Role.LEADER, valid_until=today)
    MembershipFactory(
        user=UserFactory(username="expired"), organization=org, role=Role.LEADER,
        valid_until=today - datetime.timedelta(days=1),
    )
    MembershipFactory(
        user=UserFactory(username="future"), organization=org, role=Role.LEADER,
        valid_from=today + datetime.timedelta(days=1),
    )

    assert [u.username for u in users_with_role(organization=org, role=Role.LEADER)] == ["current"]


@pytest.mark.django_db
def test_memberships_of_returns_current_memberships_with_their_organizations(tree):
    user = UserFactory(username="multi")
    on = datetime.date(2026, 3, 15)
    MembershipFactory(user=user, organization=tree["ca1"], role=Role.REVIEWER)
    MembershipFactory(user=user, organization=tree["pa"], role=Role.EXPERT, valid_until=datetime.date(2026, 3, 1))
    MembershipFactory(user=user, organization=tree["ka1a"], role=Role.CLERK, valid_from=on)

    found = sorted((m.organization.name, m.role) for m in memberships_of(user=user, on=on))

    assert found == [("县A1a", "clerk"), ("市A1", "reviewer")]


# Fanout 2 for 10 organizations and 10 for 1,000 so that both trees reach county depth.
TREES = [pytest.param(10, 2, id="10-orgs"), pytest.param(1000, 10, id="1000-orgs")]


def _descendant_ids(orgs: list[Organization], top: Organization) -> set[int]:
    """The subtree computed in Python from parent links, independently of `path`."""
    children: dict[int, list[int]] = {}
    for o in orgs:
        children.setdefault(o.parent_id, []).append(o.pk)
    found, todo = set(), [top.pk]
    while todo:
        pk = todo.pop()
        found.add(pk)
        todo += children.get(pk, [])
    return found


@pytest.mark.django_db
@pytest.mark.parametrize(("size", "fanout"), TREES)
def test_organizations_under_costs_one_query_whatever_the_tree_size(size, fanout, django_assert_num_queries):
    orgs = organization_tree_build(size=size, fanout=fanout)
    root, province, city = orgs[0], orgs[1], orgs[1 + fanout]
    assert (root.level, province.level, city.level) == (Level.NATIONAL, Level.PROVINCE, Level.CITY)
    assert Organization.objects.count() == size

    with django_assert_num_queries(1):
        everything = list(organizations_under(organization=root))
    with django_assert_num_queries(1):
        under_province = list(organizations_under(organization=province))
    with django_assert_num_queries(1):
        under_city = list(organizations_under(organization=city, include_self=False))

    assert len(everything) == size
    assert {o.pk for o in under_province} == _descendant_ids(orgs, province)
    assert {o.pk for o in under_city} == _descendant_ids(orgs, city) - {city.pk}


@pytest.mark.django_db
@pytest.mark.parametrize(("size", "fanout"), TREES)
def test_ancestor_at_level_costs_one_query_whatever_the_tree_size(size, fanout, django_assert_num_queries):
    orgs = organization_tree_build(size=size, fanout=fanout)
    county = orgs[-1]
    assert county.level == Level.COUNTY
    city = next(o for o in orgs if o.pk == county.parent_id)
    province = next(o for o in orgs if o.pk == city.parent_id)

    with django_assert_num_queries(1):
        found_province = organization_ancestor_at_level(organization=county, level=Level.PROVINCE)
    with django_assert_num_queries(1):
        found_city = organization_ancestor_at_level(organization=county, level=Level.CITY)
    with django_assert_num_queries(1):
        found_root = organization_ancestor_at_level(organization=county, level=Level.NATIONAL)

    assert (found_province, found_city, found_root) == (province, city, orgs[0])


@pytest.mark.django_db
@pytest.mark.parametrize(("size", "fanout"), TREES)
def test_users_with_role_costs_one_query_whatever_the_tree_size(size, fanout, django_assert_num_queries):
    orgs = organization_tree_build(size=size, fanout=fanout)
    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"u{i}") for i in range(size)])
    # A reviewer in every organization, so the table grows with the tree.
    Membership.objects.bulk_create(
        [Membership(user=u, organization=o, role=Role.REVIEWER) for u, o in zip(users, orgs, strict=True)]
    )
    target = orgs[-1]

    with django_assert_num_queries(1):
        found = list(users_with_role(organization=target, role=Role.REVIEWER))

    assert [u.username for u in found] == [f"u{size - 1}"]


@pytest.mark.django_db
def test_factories_build_users_that_log_in_and_trees_of_the_requested_shape(client):
    user = UserFactory(username="factory_user")
    orgs = organization_tree_build(size=15, fanout=2)

    assert client.login(request=HttpRequest(), username="factory_user", password=TEST_PASSWORD)
    assert user.email == "factory_user@test.kexie.example"
    assert [o.level for o in orgs] == ["national"] + ["province"] * 2 + ["city"] * 4 + ["county"] * 8
    assert all(o.path == Organization.objects.get(pk=o.pk).path == f"{o.parent.path}{o.pk}/" for o in orgs[1:])
    with pytest.raises(ValueError, match="^a tree with fanout 2 holds fewer than 16 organizations$"):
        organization_tree_build(size=16, fanout=2)
