"""factory_boy factories for the orgs models and for the few approvals, workflows and printing rows that tests
build directly, and a fast builder for large organization trees."""
import datetime as dt

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


# --- approvals, workflows and printing rows that the access tests (tests/access) build directly ---------
def _today():
    from django.utils import timezone

    return timezone.localdate()



class BatchFactory(factory.django.DjangoModelFactory):
    """An open batch (ten days open, thirty to go) of a program in a province; pass both."""

    class Meta:
        model = "approvals.Batch"

    year = factory.LazyFunction(lambda: _today().year)
    name = factory.Sequence(lambda n: f"批次{n}")
    opens_on = factory.LazyFunction(lambda: _today() - dt.timedelta(days=10))
    closes_on = factory.LazyFunction(lambda: _today() + dt.timedelta(days=30))


class BatchQuotaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "approvals.BatchQuota"

    quota = 5


class DelegationFactory(factory.django.DjangoModelFactory):
    """A delegation row as stored (no service checks): for periods that the service would refuse to
    record now, such as one that ended yesterday."""

    class Meta:
        model = "orgs.Delegation"

    delegate = factory.SubFactory(UserFactory)
    starts_on = factory.LazyFunction(lambda: _today() - dt.timedelta(days=10))
    ends_on = factory.LazyFunction(_today)
    reason = "休假"
    created_by = factory.SelfAttribute("delegator")


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "workflows.Notification"

    kind = "task"
    title = factory.Sequence(lambda n: f"通知{n}")
    dedup_key = factory.Sequence(lambda n: f"test-notification-{n}")


class IssueRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "printing.IssueRun"

    application_ids = factory.LazyFunction(list)
