"""Delegation (代办): a person hands their work in one organization role to a colleague for a period.

While a delegation is in force (starts_on ≤ today ≤ ends_on, not cancelled, and the delegator still holds
the role) the delegate sees the organization's applications, receives the pool's notifications and may act
on its tasks: orgs.access builds them into the Principal, and approvals.services._authorize records the
delegator as `on_behalf_of` in the audit event.
Nothing is granted or revoked when a period starts or ends: every check compares dates at query time.
"""
import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals import errors as E
from orgs.access import DELEGABLE_ROLES, may_manage_delegation, principal_of
from orgs.models import Delegation, Membership, Organization, Role
from orgs.selectors import person_label

MSG_DELEGATION_ROLE = _("“%(role)s”角色不能委托代办")
MSG_DELEGATION_NOT_MEMBER = _("%(user)s 在 %(org)s 没有“%(role)s”角色，不能委托")
MSG_DELEGATION_SELF = _("不能委托给本人")
MSG_DELEGATION_DELEGATE_INACTIVE = _("代办人 %(user)s 的账号已停用")
MSG_DELEGATION_PERIOD = _("结束日期 %(ends)s 不能早于开始日期 %(starts)s")
MSG_DELEGATION_PAST = _("结束日期 %(ends)s 已过")
MSG_DELEGATION_REASON = _("请填写委托事由")
MSG_DELEGATION_NOT_FOUND = _("代办授权不存在")
MSG_DELEGATION_FORBIDDEN = _("只有委托人本人、该组织负责人或管理员可以设置或撤销代办")


def delegations_of(*, user) -> QuerySet[Delegation]:
    """Delegations given or received by a user, newest first."""
    return (
        Delegation.objects.filter(Q(delegator=user) | Q(delegate=user))
        .select_related("delegator", "delegate", "organization")
    )


def audit_actor_label(event) -> str:
    """How the audit trail names who acted: "X" or, for a delegated action, "X 代 Y"."""
    if event.on_behalf_of_id:
        return f"{person_label(event.actor)} 代 {person_label(event.on_behalf_of)}"
    return person_label(event.actor)


# ------------------------------------------------------------------------------------------- services


def delegation_check(
    *, actor, delegator, delegate, organization: Organization, role: str, starts_on: dt.date, ends_on: dt.date,
    reason: str,
) -> None:
    """Raise the first reason why this delegation may not be recorded (the admin form shows it too)."""
    principal = principal_of(actor.user, fresh=True) if actor.user else None
    if not may_manage_delegation(principal, delegator_id=delegator.pk, organization=organization):
        raise E.NotAllowed(MSG_DELEGATION_FORBIDDEN)
    role_label = Role(role).label if role in Role.values else role
    if role not in DELEGABLE_ROLES:
        raise E.InvalidInput(MSG_DELEGATION_ROLE, role=role_label)
    if delegate.pk == delegator.pk:
        raise E.InvalidInput(MSG_DELEGATION_SELF)
    if not delegate.is_active:
        raise E.InvalidInput(MSG_DELEGATION_DELEGATE_INACTIVE, user=person_label(delegate))
    if ends_on < starts_on:
        raise E.InvalidInput(MSG_DELEGATION_PERIOD, starts=starts_on, ends=ends_on)
    if ends_on < timezone.localdate():
        raise E.InvalidInput(MSG_DELEGATION_PAST, ends=ends_on)
    if not (reason or "").strip():
        raise E.InvalidInput(MSG_DELEGATION_REASON, errors={"reason": str(MSG_DELEGATION_REASON)})
    if not Membership.objects.current().filter(user=delegator, organization=organization, role=role).exists():
        raise E.InvalidInput(
            MSG_DELEGATION_NOT_MEMBER, user=person_label(delegator), org=organization.name, role=role_label
        )


def delegation_create(
    *, actor, delegator, delegate, organization: Organization, role: str, starts_on: dt.date, ends_on: dt.date,
    reason: str,
) -> Delegation:
    """Record a delegation. The delegator, a leader or an administrator of the organization may do it."""
    delegation_check(actor=actor, delegator=delegator, delegate=delegate, organization=organization, role=role,
                     starts_on=starts_on, ends_on=ends_on, reason=reason)
    return Delegation.objects.create(
        delegator=delegator, delegate=delegate, organization=organization, role=role, starts_on=starts_on,
        ends_on=ends_on, reason=reason.strip(), created_by=actor.user,
    )


def delegation_cancel(*, actor, delegation_id: int) -> Delegation:
    """End a delegation now; cancelling twice changes nothing."""
    delegation = Delegation.objects.select_related("organization").filter(pk=delegation_id).first()
    if delegation is None:
        raise E.NotFound(MSG_DELEGATION_NOT_FOUND)
    principal = principal_of(actor.user, fresh=True) if actor.user else None
    if not may_manage_delegation(principal, delegator_id=delegation.delegator_id,
                                 organization=delegation.organization):
        raise E.NotAllowed(MSG_DELEGATION_FORBIDDEN)
    now = timezone.now()
    Delegation.objects.filter(pk=delegation.pk, cancelled_at__isnull=True).update(
        cancelled_at=now, cancelled_by=actor.user
    )
    delegation.refresh_from_db()
    return delegation
