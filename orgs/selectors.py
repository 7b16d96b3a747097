"""Reads over the organization tree; each costs a constant number of queries however large the tree."""
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from .models import Level, Membership, Organization, Role


def organizations_under(*, organization: Organization, include_self: bool = True) -> QuerySet[Organization]:
    """Every organization at or below `organization` (one indexed prefix query)."""
    qs = Organization.objects.filter(path__startswith=organization.path)
    return qs if include_self else qs.exclude(pk=organization.pk)


def organization_ancestor_at_level(*, organization: Organization, level: str) -> Organization | None:
    """The ancestor (or the organization itself) at `level`, in one query by primary keys from the path."""
    if organization.level == level:
        return organization
    return Organization.objects.filter(pk__in=organization.ancestor_ids, level=level).first()


def organization_ancestors(*, organization: Organization) -> QuerySet[Organization]:
    return Organization.objects.filter(pk__in=organization.ancestor_ids).order_by("path")


def users_with_role(*, organization: Organization, role: str, on=None) -> QuerySet:
    """Active users holding `role` in `organization` on a date (today by default)."""
    memberships = Membership.objects.current(on).filter(organization=organization, role=role)
    return get_user_model().objects.filter(is_active=True, pk__in=memberships.values("user_id")).order_by("pk")


def memberships_of(*, user, on=None) -> QuerySet[Membership]:
    """Current memberships of a user with their organizations (one query)."""
    return Membership.objects.current(on).filter(user=user).select_related("organization")


def kexie_of_division(*, code: str) -> Organization | None:
    return Organization.objects.filter(division_id=code, kind="kexie").first()


def person_label(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else "系统"


__all__ = [
    "Level",
    "Role",
    "kexie_of_division",
    "memberships_of",
    "organization_ancestor_at_level",
    "organization_ancestors",
    "organizations_under",
    "person_label",
    "users_with_role",
]
