"""What a person holds today: memberships and delegations in force, read once per request or action.

Every question of the form "may this user see or do this" starts from a Principal. It is built with one
query (memberships and delegations together) and then answers from memory; approvals.access adds the rules about
applications, batches and documents on top of it. Nothing is granted or revoked when a period starts or
ends: the dates are compared when the Principal is built, so an expired membership or delegation simply
is not in it.
"""
import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from .compiled import CompiledQuery
from .models import ADMINISTRATOR_ROLES, Delegation, Level, Membership, Organization, Role

# Roles whose holders see everything of their organization's subtree. Experts see what they are assigned.
SCOPE_ROLES = frozenset({Role.CLERK, Role.LEADER, Role.REVIEWER, Role.ADMIN, Role.AUDITOR})
# 三员分立 (docs/security.md): which administrator role manages what, each in the subtree of its own
# membership (never delegated). The system administrator (管理员) manages organizations, users, programs'
# batches and quotas; the security administrator roles, memberships, delegations and second-factor resets;
# the auditor (审计员) reads and exports the security log and the audit chain, and verifies the digests,
# changing nothing. Membership.clean refuses a second of these roles to the same person.
DUTIES = {
    "organizations": Role.ADMIN,
    "users": Role.ADMIN,
    "batches": Role.ADMIN,
    "memberships": Role.SECURITY_ADMIN,
    "delegations": Role.SECURITY_ADMIN,
    "two_factor": Role.SECURITY_ADMIN,
    "security_log": Role.AUDITOR,
}
# Roles whose work goes to a pool of the organization; an expert's scoring is personal and not delegable.
DELEGABLE_ROLES = (Role.CLERK, Role.LEADER, Role.REVIEWER)


@dataclass(frozen=True)
class Seat:
    """One (organization, role) a person acts in today; `delegator_id` is set when it is delegated (代办)."""

    organization_id: int
    path: str
    level: str
    role: str
    delegator_id: int | None = None


@dataclass
class Principal:
    user: object
    seats: tuple[Seat, ...] = ()
    is_superuser: bool = False
    on: dt.date = field(default_factory=timezone.localdate)
    # Answers that other layers derive from the seats with a query of their own (approvals.access: the
    # applications granted to an expert), kept as long as the Principal: read once per request.
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def authenticated(self) -> bool:
        return self.user is not None and getattr(self.user, "is_authenticated", False)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.authenticated else None

    def own_seats(self) -> list[Seat]:
        return [s for s in self.seats if s.delegator_id is None]

    def scope_paths(self) -> set[str]:
        """Tree paths under which this person sees everything (own roles and delegated ones; no experts)."""
        return {s.path for s in self.seats if s.role in SCOPE_ROLES}

    def sees_path(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.scope_paths())

    def seat(self, organization_id: int, role: str) -> Seat | None:
        """The seat for (organization, role): an own membership first, else a delegation in force."""
        found = [s for s in self.seats if s.organization_id == organization_id and s.role == role]
        return min(found, key=lambda s: s.delegator_id is not None, default=None)

    def holds(self, role: str, *, level: str | None = None, organization_id: int | None = None,
              own: bool = False) -> bool:
        return any(
            s.role == role and (level is None or s.level == level)
            and (organization_id is None or s.organization_id == organization_id)
            and (not own or s.delegator_id is None)
            for s in self.seats
        )

    def organizations(self, role: str, *, level: str | None = None, own: bool = False) -> set[int]:
        return {s.organization_id for s in self.seats
                if s.role == role and (level is None or s.level == level) and (not own or s.delegator_id is None)}

    def admin_paths(self) -> set[str]:
        """Subtrees this person administers as system administrator (管理员, own membership only:
        administration is not delegable)."""
        return self.duty_paths("organizations")

    def duty_paths(self, duty: str) -> set[str]:
        """Subtrees in which this person does `duty` (DUTIES), by an own membership."""
        role = DUTIES[duty]
        return {s.path for s in self.own_seats() if s.role == role}

    def uses_admin_site(self) -> bool:
        """A system or security administrator (own membership) works in the admin site."""
        return any(s.role in (Role.ADMIN, Role.SECURITY_ADMIN) for s in self.own_seats())


# ----------------------------------------------------------------------------------- two-factor login

# Roles whose holders log in with a second factor (等保 2.0 身份鉴别, docs/security.md), at any level; every
# seat at province level (own or delegated) needs one too, and so does a system administrator (superuser).
TWO_FACTOR_ROLES = frozenset(ADMINISTRATOR_ROLES)


def two_factor_required(principal: Principal) -> bool:
    """This person may not work without a verified second factor (TOTP or a recovery code)."""
    if not principal.authenticated:
        return False
    return principal.is_superuser or any(
        s.role in TWO_FACTOR_ROLES or s.level == Level.PROVINCE for s in principal.seats)


def may_reset_two_factor(principal: Principal, target) -> bool:
    """Reset another person's second factor (they enrol again at their next login): a system administrator
    (superuser), or a security administrator of a subtree that holds every one of the person's memberships.
    Never one's own
    (a lost phone goes to someone else), never a system administrator's unless one is one."""
    if not principal.authenticated or target.pk == principal.user_id:
        return False
    if principal.is_superuser:
        return True
    if target.is_superuser:
        return False
    admin_paths = principal.duty_paths("two_factor")
    paths = list(Membership.objects.filter(user_id=target.pk).values_list("organization__path", flat=True))
    return bool(paths) and all(any(p.startswith(a) for a in admin_paths) for p in paths)


# ---------------------------------------------------------------------------------- the security log

# Levels whose audit administrator also reads the events that belong to nobody's subtree: failed logins of
# names that are no account, accounts that hold no membership (the break-glass superuser), deleted users.
SECURITY_LOG_TOP_LEVELS = (Level.NATIONAL, Level.PROVINCE)


def may_read_security_log(principal: Principal) -> bool:
    """The security log's search, export and verification (docs/security.md): the audit administrator
    (审计员, own membership in force) at any level, for their subtree. Nobody else: not the system or the
    security administrator, not the Django superuser (三员分立: the log records what they do)."""
    return principal.authenticated and bool(principal.duty_paths("security_log"))


def security_log_scope_q(principal: Principal) -> Q:
    """The condition on security.SecurityEvent for what the principal reads: the events of every account
    that holds (or held) a membership in one of the subtrees the principal audits (by the event's user
    name, which stays when the account is deleted and is set for a failed login of a known name); an
    auditor at a province (or national) organization also reads the events of names that hold no
    membership anywhere. Nothing for anyone else."""
    if not may_read_security_log(principal):
        return Q(pk__in=[])
    users = get_user_model().objects
    in_tree = Q(pk__in=[])
    for path in sorted(principal.duty_paths("security_log")):
        in_tree |= Q(organization__path__under=path)
    condition = Q(username__in=users.filter(
        pk__in=Membership.objects.filter(in_tree).values("user_id")).values("username"))
    if any(s.role == DUTIES["security_log"] and s.level in SECURITY_LOG_TOP_LEVELS for s in principal.own_seats()):
        condition |= ~Q(username__in=users.filter(pk__in=Membership.objects.values("user_id")).values("username"))
    return condition


def delegations_in_force(*, on: dt.date | None = None) -> QuerySet:
    """Delegations active on `on` whose delegator still holds the role: a delegation never outlives it."""
    on = on or timezone.localdate()
    return Delegation.objects.active(on).filter(role__in=DELEGABLE_ROLES).filter(
        Exists(
            Membership.objects.current(on).filter(
                user_id=OuterRef("delegator_id"), organization_id=OuterRef("organization_id"), role=OuterRef("role")
            )
        )
    )


def _seats_query(*, user_id: int, on: dt.date) -> QuerySet:
    """(organization, path, level, role, delegator) of every seat a user holds on a date: the memberships
    and the delegations in force, in one query."""
    own = (
        Membership.objects.current(on).filter(user_id=user_id)
        .annotate(delegator=Value(None, output_field=IntegerField()))
        .values_list("organization_id", "organization__path", "organization__level", "role", "delegator")
    )
    delegated = (
        delegations_in_force(on=on).filter(delegate_id=user_id)
        .values_list("organization_id", "organization__path", "organization__level", "role", "delegator_id")
    )
    return own.order_by().union(delegated.order_by(), all=True)


# Every action and page reads the seats query, and building it through the ORM costs more than running
# it: it is compiled once per process (orgs.compiled), with the user and the date put in their places.
_SEATS = CompiledQuery(_seats_query, user_id=-987_654_321, on=dt.date(1901, 2, 3))


def _seat_rows(*, user_id: int, on: dt.date) -> list[tuple]:
    return _SEATS.rows(user_id=user_id, on=on)


def principal_build(*, user, on: dt.date | None = None) -> Principal:
    """Read what `user` holds on `on` (today by default): one query, or none for an anonymous user.
    An inactive account holds nothing."""
    on = on or timezone.localdate()
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Principal(user=None, on=on)
    seats = [Seat(o, p, lv, r, d) for o, p, lv, r, d in _seat_rows(user_id=user.pk, on=on)]
    return Principal(user=user, seats=tuple(seats), is_superuser=user.is_superuser, on=on)


def principal_of(user, *, fresh: bool = False) -> Principal:
    """The Principal of `user`, built once and kept on the user object (one per request: the request's
    user object lives as long as the request). Services ask with fresh=True, so that a role taken away
    since the user was loaded no longer counts for the action."""
    if user is None or not getattr(user, "is_authenticated", False):
        return principal_build(user=None)
    cached = getattr(user, "_principal", None)
    if fresh or cached is None or cached.on != timezone.localdate():
        cached = principal_build(user=user)
        user._principal = cached
    return cached


# ----------------------------------------------------------------------------------- pools and people


def pool_members(*, organization_id: int, role: str, on: dt.date | None = None) -> QuerySet:
    """Active users who act for (organization, role) on a date: its members and the delegates in force."""
    on = on or timezone.localdate()
    members = Membership.objects.current(on).filter(organization_id=organization_id, role=role).values("user_id")
    delegates = delegations_in_force(on=on).filter(organization_id=organization_id, role=role).values("delegate_id")
    return get_user_model().objects.filter(Q(pk__in=members) | Q(pk__in=delegates), is_active=True).order_by("pk")


def may_manage_delegation(principal: Principal | None, *, delegator_id: int, organization: Organization) -> bool:
    """Record or cancel a delegation (代办): the delegator, the organization's leader (own membership), a
    security administrator of the organization or of one above it (the admin pages' scope), or a system
    administrator (superuser)."""
    if principal is None or not principal.authenticated:
        return False
    if principal.user_id == delegator_id or principal.is_superuser:
        return True
    if principal.holds(Role.LEADER, organization_id=organization.pk, own=True):
        return True
    return any(organization.path.startswith(p) for p in principal.duty_paths("delegations"))


def organization_in_scope(principal: Principal, organization: Organization) -> bool:
    """The organization is one of the principal's or lies below one of them."""
    return principal.sees_path(organization.path)


def organization_scope_q(principal: Principal) -> Q:
    """The condition on Organization for organization_in_scope: the principal's organizations (roles other
    than expert, own or delegated) and everything below them; everything for a superuser."""
    if not principal.authenticated:
        return Q(pk__in=[])
    if principal.is_superuser:
        return Q()
    condition = Q(pk__in=[])
    for path in sorted(principal.scope_paths()):
        condition |= Q(path__under=path)
    return condition


__all__ = [
    "ADMINISTRATOR_ROLES", "DUTIES", "may_read_security_log", "security_log_scope_q", "SECURITY_LOG_TOP_LEVELS", "TWO_FACTOR_ROLES", "may_reset_two_factor", "two_factor_required",
    "DELEGABLE_ROLES", "Level", "Principal", "may_manage_delegation", "SCOPE_ROLES", "Seat", "delegations_in_force",
    "organization_in_scope", "organization_scope_q", "pool_members", "principal_build", "principal_of",
]
