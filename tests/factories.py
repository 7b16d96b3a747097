"""factory_boy factories for the orgs models, and a fast builder for large organization trees."""
import factory
from django.contrib.auth import get_user_model
from django.db import connection

from orgs.models import Division, Level, Membership, Organization, OrgKind, Role

TEST_PASSWORD = "test-password-1234"

# Tree depth of each level below the national root.
_LEVEL_AT_DEPTH = {0: Level.NATIONAL, 1: Level.PROVINCE, 2: Level.CITY, 3: Level.COUNTY}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@test.kexie.example")
    password = factory.django.Password(TEST_PASSWORD)
    is_active = True


class DivisionFactory(factory.django.DjangoModelFactory):
    """A province by default; pass `parent` and `level` for cities and counties."""

    class Meta:
        model = Division
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"{900000 + n:06d}")
    name = factory.Sequence(lambda n: f"区划{n}")
    level = Level.PROVINCE
    parent = None
    active = True


class OrganizationFactory(factory.django.DjangoModelFactory):
    """A 科协 at the national level by default; Organization.save() fills `path` from `parent`."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"组织{n}")
    kind = OrgKind.KEXIE
    level = Level.NATIONAL
    division = None
    parent = None
    active = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.CLERK
    valid_from = None
    valid_until = None


def organization_tree_build(*, size: int, fanout: int = 10) -> list[Organization]:
    """`size` organizations in breadth-first order: a national root, then provinces, cities and counties.

    Each organization gets up to `fanout` children, at most three levels deep; one bulk insert and one
    bulk path update per level, so a tree of 1,000 takes a handful of queries instead of 2,000.
    """
    if size > 1 + fanout + fanout**2 + fanout**3:
        raise ValueError(f"a tree with fanout {fanout} holds fewer than {size} organizations")
    if not connection.features.can_return_rows_from_bulk_insert:
        raise RuntimeError("organization_tree_build needs a database that returns keys from bulk inserts")
    root = OrganizationFactory(name="树根", level=Level.NATIONAL)
    built, layer = [root], [root]
    for depth in (1, 2, 3):
        children = []
        for parent in layer:
            for _ in range(fanout):
                if len(built) + len(children) >= size:
                    break
                children.append(
                    Organization(
                        name=f"组织{len(built) + len(children)}", kind=OrgKind.KEXIE,
                        level=_LEVEL_AT_DEPTH[depth], parent=parent,
                    )
                )
        if not children:
            break
        Organization.objects.bulk_create(children)
        for child in children:
            child.path = f"{child.parent.path}{child.pk}/"
        Organization.objects.bulk_update(children, ["path"], batch_size=500)
        built += children
        layer = children
    return built
