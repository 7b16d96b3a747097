"""Delegation (代办): a reviewer's work handed to a colleague for a period that starts and ends on its own,
recorded in the audit trail as "X 代 Y"."""
import datetime as dt

import pytest
from django.utils import timezone

from approvals import errors as E
from approvals import services as svc
from approvals.access import may_see_application
from approvals.models import Application, AuditEvent
from approvals.selectors import audit_verify
from orgs.access import Seat, principal_of
from orgs.models import Delegation, Membership
from tests.approvals.chain import act, create
from workflows import delegations as deleg
from workflows.delegations import audit_actor_label, delegation_cancel, delegation_create
from workflows.models import Notification

PROGRAM = "society-service-station"


@pytest.fixture
def in_city_review(world):
    app = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk)
    return Application.objects.get(pk=app.pk)


def delegate_city_review(world, *, to: str, starts_on, ends_on, by: str = "chuzhou_reviewer") -> Delegation:
    return delegation_create(
        actor=act(world, by), delegator=world.user["chuzhou_reviewer"], delegate=world.user[to],
        organization=world.org["chuzhou"], role="reviewer", starts_on=starts_on, ends_on=ends_on, reason="出差",
    )


def recommend(world, username, app):
    return svc.application_recommend(actor=act(world, username), application_id=app.pk, comment="同意推荐")


def unchanged(app) -> tuple:
    fresh = Application.objects.get(pk=app.pk)
    return fresh.status, fresh.audit_seq, AuditEvent.objects.filter(application=app).count()


@pytest.mark.django_db
def test_delegation_starts_and_ends_on_its_own(world, in_city_review, clock):
    today = timezone.localdate()
    delegate_city_review(world, to="chuzhou_clerk", starts_on=today + dt.timedelta(days=1),
                         ends_on=today + dt.timedelta(days=3))
    before = unchanged(in_city_review)

    # Before the period: the clerk of the same city sees the application but may not review it.
    with pytest.raises(E.NotAllowed) as exc:
        recommend(world, "chuzhou_clerk", in_city_review)
    assert exc.value.message == "您没有在当前环节执行“推荐”的权限"
    assert unchanged(in_city_review) == before

    # After the period the same attempt is refused again, with nothing changed.
    clock.set(today + dt.timedelta(days=4))
    with pytest.raises(E.NotAllowed):
        recommend(world, "chuzhou_clerk", in_city_review)
    assert unchanged(in_city_review) == before

    # During it (its last day) the delegate acts, and the audit names both.
    clock.set(today + dt.timedelta(days=3))
    recommend(world, "chuzhou_clerk", in_city_review)
    event = AuditEvent.objects.filter(application=in_city_review).last()
    assert (event.action, event.actor_id, event.on_behalf_of_id, event.role, event.organization_id,
            event.from_status, event.to_status) == (
        "recommend", world.user["chuzhou_clerk"].pk, world.user["chuzhou_reviewer"].pk, "reviewer",
        world.org["chuzhou"].pk, "city_review", "province_check")
    assert audit_actor_label(event) == "滁州市科协经办人 代 滁州市科协审核人"
    assert audit_actor_label(AuditEvent.objects.filter(application=in_city_review).first()) == "琅琊区科协经办人"
    assert audit_verify(application_ids=[in_city_review.pk])[0] is True


@pytest.mark.django_db
def test_a_delegate_from_another_organization_sees_and_acts_only_while_in_force(world, in_city_review, clock):
    today = timezone.localdate()
    delegate_city_review(world, to="hefei_reviewer", starts_on=today, ends_on=today)
    hefei = world.user["hefei_reviewer"]
    assert may_see_application(principal_of(hefei, fresh=True), in_city_review) is True
    clock.set(today + dt.timedelta(days=1))
    assert may_see_application(principal_of(hefei, fresh=True), in_city_review) is False
    with pytest.raises(E.NotFound):
        recommend(world, "hefei_reviewer", in_city_review)
    clock.set(today)
    recommend(world, "hefei_reviewer", in_city_review)
    assert AuditEvent.objects.filter(application=in_city_review).last().on_behalf_of_id == \
        world.user["chuzhou_reviewer"].pk


@pytest.mark.django_db
def test_cancelled_delegation_and_lapsed_membership_grant_nothing(world, in_city_review):
    today = timezone.localdate()
    delegation = delegate_city_review(world, to="chuzhou_clerk", starts_on=today, ends_on=today)
    assert [s for s in principal_of(world.user["chuzhou_clerk"], fresh=True).seats if s.delegator_id] == [
        Seat(world.org["chuzhou"].pk, world.org["chuzhou"].path, "city", "reviewer", world.user["chuzhou_reviewer"].pk)]

    # The delegator leaves the role: the delegation lapses with it.
    Membership.objects.filter(user=world.user["chuzhou_reviewer"], role="reviewer").update(
        valid_until=today - dt.timedelta(days=1))
    assert [s for s in principal_of(world.user["chuzhou_clerk"], fresh=True).seats if s.delegator_id] == []
    Membership.objects.filter(user=world.user["chuzhou_reviewer"], role="reviewer").update(valid_until=None)

    cancelled = delegation_cancel(actor=act(world, "chuzhou_reviewer"), delegation_id=delegation.pk)
    assert (cancelled.cancelled_at is not None, cancelled.cancelled_by_id) == (True, world.user["chuzhou_reviewer"].pk)
    with pytest.raises(E.NotAllowed):
        recommend(world, "chuzhou_clerk", in_city_review)
    assert Application.objects.get(pk=in_city_review.pk).status == "city_review"


@pytest.mark.django_db
def test_delegates_hear_of_the_pool_tasks(world, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    delegate_city_review(world, to="hefei_reviewer", starts_on=today, ends_on=today)
    app = create(world, PROGRAM)
    with django_capture_on_commit_callbacks(execute=True):  # notifications are made after the commit
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
        svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk)
    assert sorted(Notification.objects.filter(kind="task").values_list("user__username", flat=True)) == [
        "chuzhou_reviewer", "hefei_reviewer", "langya_leader"]


@pytest.mark.django_db
def test_who_may_delegate_what(world):
    today = timezone.localdate()
    ok = {"starts_on": today, "ends_on": today + dt.timedelta(days=5)}

    # Someone outside the organization's leadership may not delegate another person's work.
    with pytest.raises(E.NotAllowed) as exc:
        delegate_city_review(world, to="chuzhou_clerk", by="chuzhou_clerk", **ok)
    assert exc.value.message == str(deleg.MSG_DELEGATION_FORBIDDEN)
    # The organization's leader may.
    assert delegate_city_review(world, to="chuzhou_clerk", by="chuzhou_leader", **ok).created_by == \
        world.user["chuzhou_leader"]

    cases = [
        ({"to": "chuzhou_reviewer"}, deleg.MSG_DELEGATION_SELF, {}),
        ({"to": "chuzhou_clerk", "starts_on": today, "ends_on": today - dt.timedelta(days=1)},
         deleg.MSG_DELEGATION_PERIOD, {"starts": today, "ends": today - dt.timedelta(days=1)}),
        ({"to": "chuzhou_clerk", "starts_on": today - dt.timedelta(days=5), "ends_on": today - dt.timedelta(days=1)},
         deleg.MSG_DELEGATION_PAST, {"ends": today - dt.timedelta(days=1)}),
    ]
    for overrides, message, params in cases:
        kwargs = {**ok, **overrides}
        with pytest.raises(E.InvalidInput) as exc:
            delegate_city_review(world, **kwargs)
        assert exc.value.message == str(message) % params if params else str(message)

    with pytest.raises(E.InvalidInput) as exc:
        delegation_create(actor=act(world, "anhui_expert"), delegator=world.user["anhui_expert"],
                          delegate=world.user["anhui_expert2"], organization=world.org["anhui"], role="expert",
                          reason="出差", **ok)
    assert exc.value.message == "“评审专家”角色不能委托代办"
    with pytest.raises(E.InvalidInput) as exc:
        delegation_create(actor=act(world, "chuzhou_clerk"), delegator=world.user["chuzhou_clerk"],
                          delegate=world.user["hefei_clerk"], organization=world.org["chuzhou"], role="reviewer",
                          reason="出差", **ok)
    assert exc.value.message == "滁州市科协经办人 在 滁州市科学技术协会 没有“审核人”角色，不能委托"
    assert Delegation.objects.count() == 1


@pytest.mark.django_db
def test_admin_records_a_delegation_through_the_service(world, admin_client):
    today = timezone.localdate()
    form = {
        "delegator": world.user["chuzhou_reviewer"].pk, "delegate": world.user["chuzhou_clerk"].pk,
        "organization": world.org["chuzhou"].pk, "role": "reviewer", "starts_on": today, "ends_on": today,
        "reason": "出差",
    }
    response = admin_client.post("/admin/orgs/delegation/add/", {**form, "delegate": form["delegator"]})
    assert response.status_code == 200 and str(deleg.MSG_DELEGATION_SELF) in response.content.decode()
    assert Delegation.objects.count() == 0
    response = admin_client.post("/admin/orgs/delegation/add/", form)
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert (delegation.delegate, delegation.created_by.is_superuser) == (world.user["chuzhou_clerk"], True)
    admin_client.post("/admin/orgs/delegation/", {"action": "cancel", "_selected_action": [delegation.pk]})
    delegation.refresh_from_db()
    assert delegation.cancelled_at is not None
