"""Notifications: who hears of each transition, e-mail per kind on or off, mark as read, the pages, the
outbox's send-once rules, and the queries a transition pays for them."""
import datetime as dt
import json
import logging
from smtplib import SMTPServerDisconnected
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from approvals import services as svc
from approvals.models import Application, Effect
from tests.approvals.chain import act, create, publish_and_wait, to_province_check
from tests.factories import TEST_PASSWORD
from workflows import notifications as notes
from workflows.models import EmailOutbox, Notification, NotificationPreference
from workflows.notifications import (
    ALREADY_SENT,
    GAVE_UP,
    IN_DOUBT,
    MAX_ATTEMPTS,
    SENT,
    emails_in_doubt_set_aside,
    notification_event_run,
    notification_mark_all_read,
    notification_mark_read,
    notification_preference_set,
    notification_unread_count,
    outbox_send,
)
from workflows.relay import outbox_relay
from workflows.tasks import notify_event

PROGRAM = "society-service-station"
SUBJECT = "滁州某某智能装备有限公司"


def received(kind=None) -> list[tuple]:
    qs = Notification.objects.all() if kind is None else Notification.objects.filter(kind=kind)
    return sorted(qs.values_list("user__username", "kind", "title"))


def mails() -> list[tuple]:
    return sorted((m.to[0], m.subject) for m in mail.outbox)


@pytest.fixture
def draft(world):
    return create(world, PROGRAM)


# ---------------------------------------------------------------------------------- who hears what


@pytest.mark.django_db
def test_submit_tells_the_signoff_pool_and_emails_after_commit(world, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
    # Nothing is worked out or sent before the commit: the action wrote one outbox effect for its event.
    app = Application.objects.get(pk=draft.pk)
    assert (mail.outbox, Notification.objects.count()) == ([], 0)
    assert list(Effect.objects.values_list("kind", "key", "args", "done_at")) == [
        ("notify_event", f"{draft.pk}:{app.audit_seq}", [draft.pk, app.audit_seq], None)]
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=False) as email_callbacks:
        callbacks[0]()  # the kick: a worker tells the event, writing the notifications and the e-mails' effect
    callbacks = email_callbacks
    title = f"待办：{SUBJECT}（本级审核）"
    assert received() == [("langya_leader", "task", title)]
    note = Notification.objects.get()
    assert Effect.objects.get(kind="notify_event").done_at is not None
    due = app.task_deadlines.get().due_on
    assert note.body == f"“学会服务站”申报“{SUBJECT}”已进入“本级审核”环节，请及时办理。办理期限：{due:%Y-%m-%d}（5 个工作日）。"
    assert (note.url, note.application_id, note.dedup_key) == (
        f"/approvals/applications/{draft.pk}/", draft.pk, f"task:{draft.pk}:{app.audit_seq}:{world.user['langya_leader'].pk}")
    assert len(callbacks) == 1
    callbacks[0]()
    assert mails() == [("langya_leader@test.kexie.example", f"【科协试点申报】{title}")]
    assert mail.outbox[0].body.startswith(note.body + "\n\n查看详情：http://127.0.0.1:8000/approvals/applications/")
    assert EmailOutbox.objects.get().sent_at is not None
    email = Effect.objects.get(kind="email_send")
    assert (email.args, email.done_at is not None) == ([[EmailOutbox.objects.get().pk]], True)


@pytest.mark.django_db
def test_each_stage_tells_its_pool_and_the_clerks_hear_the_outcome(world, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        app = to_province_check(world, draft, "langya")
        svc.application_return(actor=act(world, "anhui_reviewer"), application_id=app.pk, comment="缺少技术需求表")
    assert received() == [
        ("anhui_reviewer", "task", f"待办：{SUBJECT}（省级形式审查）"),
        ("chuzhou_reviewer", "task", f"待办：{SUBJECT}（市级审核推荐）"),
        ("langya_clerk", "returned", f"退回修改：{SUBJECT}"),
        ("langya_leader", "task", f"待办：{SUBJECT}（本级审核）"),
    ]
    assert Notification.objects.get(kind="returned").body.endswith("\n退回意见：缺少技术需求表")
    # Below, the province's only reviewer accepts it himself, so nobody hears of the expert assignment step.
    Notification.objects.all().delete()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        app = to_province_check(world, app, "langya")
        svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=app.pk)
        svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=app.pk,
                                       expert_ids=[world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk])
        svc.application_score(actor=act(world, "anhui_expert"), application_id=app.pk, score=80)
        svc.application_score(actor=act(world, "anhui_expert2"), application_id=app.pk, score=90)
        svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=True, comment="同意")
    assert received() == [
        ("anhui_expert", "task", f"待办：{SUBJECT}（专家评审）"),
        ("anhui_expert2", "task", f"待办：{SUBJECT}（专家评审）"),
        ("anhui_leader", "task", f"待办：{SUBJECT}（省级认定）"),
        ("anhui_reviewer", "task", f"待办：{SUBJECT}（公示）"),
        ("anhui_reviewer", "task", f"待办：{SUBJECT}（省级形式审查）"),
        ("chuzhou_reviewer", "task", f"待办：{SUBJECT}（市级审核推荐）"),
        ("langya_clerk", "decided", f"审批结果：{SUBJECT}（公示中）"),
        ("langya_leader", "task", f"待办：{SUBJECT}（本级审核）"),
    ]
    assert len(mail.outbox) == 8

    Notification.objects.all().delete()
    app = publish_and_wait(world, app)
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=app.pk)
    number = Application.objects.get(pk=app.pk).certificate.number
    assert received() == [("langya_clerk", "certificate", f"证书已颁发：{SUBJECT}")]
    assert Notification.objects.get().body == f"“学会服务站”申报“{SUBJECT}”已颁发证书，证书编号：{number}。"


@pytest.mark.django_db
def test_email_can_be_switched_off_per_kind(world, draft, django_capture_on_commit_callbacks):
    leader = world.user["langya_leader"]
    notification_preference_set(user=leader, kind="task", email_enabled=False)
    notification_preference_set(user=leader, kind="reminder", email_enabled=True)
    assert notes.notification_preferences(user=leader) == {
        "task": False, "returned": True, "decided": True, "certificate": True, "reminder": True, "escalation": True,
        "expired": True, "calendar": True, "divisions": True}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
    # Still told in the application, but no e-mail: the only callback published the notification effect.
    assert received() == [("langya_leader", "task", f"待办：{SUBJECT}（本级审核）")]
    assert (EmailOutbox.objects.count(), len(mail.outbox), len(callbacks)) == (0, 0, 1)

    # Other kinds still e-mail: the clerk hears of the return.
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_return(actor=act(world, "langya_leader"), application_id=draft.pk, comment="请补充")
    assert mails() == [("langya_clerk@test.kexie.example", f"【科协试点申报】退回修改：{SUBJECT}")]
    assert NotificationPreference.objects.filter(user=leader).count() == 2


@pytest.mark.django_db
def test_users_without_an_address_get_no_email(world, draft, django_capture_on_commit_callbacks):
    type(world.user["langya_leader"]).objects.filter(pk=world.user["langya_leader"].pk).update(email="")
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
    assert (Notification.objects.count(), EmailOutbox.objects.count(), len(mail.outbox)) == (1, 0, 0)


# ------------------------------------------------------------------------------------------ reading


@pytest.mark.django_db
def test_mark_as_read(world, draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        app = to_province_check(world, draft, "langya")
        svc.application_return(actor=act(world, "anhui_reviewer"), application_id=app.pk, comment="退回")
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    leader = world.user["langya_leader"]
    first, second = Notification.objects.filter(user=leader).order_by("pk")
    assert notification_unread_count(user=leader) == 2
    assert notification_mark_read(user=leader, notification_id=first.pk) is True
    assert notification_mark_read(user=leader, notification_id=first.pk) is False  # already read
    # Someone else's notification cannot be marked.
    assert notification_mark_read(user=world.user["langya_clerk"], notification_id=second.pk) is False
    assert notification_unread_count(user=leader) == 1
    assert list(notes.notification_list(user=leader, unread_only=True)) == [second]
    assert notification_mark_all_read(user=leader) == 1
    assert notification_unread_count(user=leader) == 0
    assert Notification.objects.filter(user=world.user["langya_clerk"], read_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_pages(world, draft, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
    note = Notification.objects.get()
    assert client.get("/notifications/unread.json").status_code == 401
    assert client.get("/notifications/").status_code == 302  # to the login page

    assert client.login(username="langya_leader", password=TEST_PASSWORD)
    response = client.get("/notifications/unread.json")
    assert (response.status_code, json.loads(response.content), response["Cache-Control"]) == (
        200, {"unread": 1}, "no-store")
    page = client.get("/notifications/").content.decode()
    assert f"待办：{SUBJECT}（本级审核）" in page and "1 条未读" in page

    response = client.post(reverse("workflows:notification_read", args=[note.pk]), {"next": note.url})
    assert (response.status_code, response["Location"]) == (302, note.url)
    assert json.loads(client.get("/notifications/unread.json").content) == {"unread": 0}
    # An outside address as "next" is ignored.
    response = client.post(reverse("workflows:notification_read", args=[note.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"

    response = client.post("/notifications/preferences/", {"email_reminder": "on", "email_escalation": "on"})
    assert response.status_code == 302
    assert notes.notification_preferences(user=world.user["langya_leader"]) == {
        "task": False, "returned": False, "decided": False, "certificate": False, "reminder": True,
        "escalation": True, "expired": False, "calendar": False, "divisions": False}
    assert 'name="email_reminder" checked' in client.get("/notifications/preferences/").content.decode()


# -------------------------------------------------------------------------------- sending at most once


def outbox_row(world, username="langya_leader") -> EmailOutbox:
    user = world.user[username]
    ids = notes.notifications_create(
        batches=[(type(user).objects.filter(pk=user.pk), notes.Message("reminder", "标题", "正文", "/x/"))],
        key="test",
    )
    return EmailOutbox.objects.get(pk=ids[0])


@pytest.mark.django_db
def test_a_row_is_sent_once_however_often_its_task_runs(world):
    row = outbox_row(world)
    assert outbox_send(outbox_id=row.pk) == SENT
    assert outbox_send(outbox_id=row.pk) == ALREADY_SENT
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert (row.attempts, row.sending_started_at is not None, row.sent_at is not None) == (1, True, True)


@pytest.mark.django_db
def test_a_send_cut_short_by_a_dead_worker_is_not_repeated(world, caplog):
    row = outbox_row(world)
    started = timezone.now() - dt.timedelta(hours=1)
    # As a worker killed between its claim and recording the result leaves the row.
    EmailOutbox.objects.filter(pk=row.pk).update(sending_started_at=started, attempts=1)
    assert outbox_send(outbox_id=row.pk) == IN_DOUBT
    assert mail.outbox == []
    with caplog.at_level(logging.ERROR, logger="workflows.notifications"):
        assert emails_in_doubt_set_aside(now=started + dt.timedelta(seconds=899)) == 0  # not yet in doubt
        assert emails_in_doubt_set_aside() == 1
    assert "is not resent automatically" in caplog.text
    row.refresh_from_db()
    assert (row.sent_at, row.failed_at is not None) == (None, True)
    assert emails_in_doubt_set_aside() == 0  # reported once
    # An administrator may decide to send it again.
    assert notes.outbox_retry(outbox_ids=[row.pk]) == 1
    assert outbox_send(outbox_id=row.pk) == SENT


@pytest.mark.django_db
def test_a_refused_send_is_released_for_the_retry_then_given_up(world):
    row = outbox_row(world)
    with mock.patch("workflows.notifications.send_mail", side_effect=SMTPServerDisconnected("gone")):
        with pytest.raises(SMTPServerDisconnected):
            outbox_send(outbox_id=row.pk)
    row.refresh_from_db()
    assert (row.sending_started_at, row.attempts, row.last_error) == (None, 1, "SMTPServerDisconnected('gone')")
    assert outbox_send(outbox_id=row.pk) == SENT
    assert len(mail.outbox) == 1

    other = outbox_row(world, "langya_clerk")
    EmailOutbox.objects.filter(pk=other.pk).update(attempts=MAX_ATTEMPTS - 1)
    with mock.patch("workflows.notifications.send_mail", side_effect=ConnectionRefusedError()):
        assert outbox_send(outbox_id=other.pk) == GAVE_UP
    other.refresh_from_db()
    assert (other.failed_at is not None, other.attempts) == (True, MAX_ATTEMPTS)


@pytest.mark.django_db
def test_broker_down_at_commit_loses_nothing(world, draft, django_capture_on_commit_callbacks, caplog):
    with mock.patch("workflows.tasks.send_notification_emails.apply_async", side_effect=BrokerDown("refused")):
        with caplog.at_level(logging.WARNING, logger="approvals.outbox"):
            with django_capture_on_commit_callbacks(execute=True):
                svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
    assert Application.objects.get(pk=draft.pk).status == "applicant_signoff"
    assert "broker unreachable: 1 effect(s) wait for the relay (first email_send#" in caplog.text
    assert (EmailOutbox.objects.filter(sent_at__isnull=True).count(), len(mail.outbox)) == (1, 0)
    effect = Effect.objects.get(kind="email_send")
    assert (effect.published_at, effect.publish_count, effect.done_at) == (None, 0, None)
    # A young row is left to its kick (the grace period); then the relay publishes it.
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_relay().due == 0
        assert outbox_relay(now=timezone.now() + dt.timedelta(seconds=11)).published == 1
    assert mails() == [("langya_leader@test.kexie.example", f"【科协试点申报】待办：{SUBJECT}（本级审核）")]
    effect.refresh_from_db()
    assert (effect.publish_count, effect.done_at is not None) == (1, True)


@pytest.mark.django_db
def test_an_event_whose_task_was_lost_is_told_by_the_relay_once(world, draft, django_capture_on_commit_callbacks,
                                                               caplog):
    """The broker is down when the action commits: its notify effect stays unpublished; the relay publishes
    it (after the grace period), the worker tells it, and a second delivery tells nothing more."""
    with mock.patch("workflows.tasks.notify_event.apply_async", side_effect=BrokerDown("refused")):
        with caplog.at_level(logging.WARNING, logger="approvals.outbox"):
            with django_capture_on_commit_callbacks(execute=True):
                svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
    seq = Application.objects.get(pk=draft.pk).audit_seq
    effect = Effect.objects.get(kind="notify_event", key=f"{draft.pk}:{seq}")
    assert f"effect(s) wait for the relay (first notify_event#{effect.pk})" in caplog.text
    assert Notification.objects.count() == 0
    later = timezone.now() + dt.timedelta(seconds=11)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_relay().due == 0  # still within the grace period
        assert outbox_relay(now=later).published == 1
    assert received() == [("langya_leader", "task", f"待办：{SUBJECT}（本级审核）")]
    effect.refresh_from_db()
    assert effect.done_at is not None and outbox_relay(now=later).due == 0
    # Delivered again (a redelivered message), or run by hand: nothing more.
    assert notify_event.apply(args=[draft.pk, seq], kwargs={"effect_id": effect.pk}).get() is None
    assert notification_event_run(application_id=draft.pk, seq=seq) == []
    assert Notification.objects.count() == 1


# ------------------------------------------------------------------------------------------ the cost


def _count(call) -> tuple[int, int]:
    """(queries, of which on the notification tables and the recipient lookups)."""
    with CaptureQueriesContext(connection) as ctx:
        call()
    mine = [q["sql"] for q in ctx.captured_queries
            if "workflows_notification" in q["sql"] or "workflows_emailoutbox" in q["sql"]]
    return len(ctx.captured_queries), len(mine)


@pytest.mark.django_db
def test_queries_a_transition_pays_for_notifications(world, draft):
    """sign_off pays one insert for its notifications, the outbox effect (its audit event is the record;
    the recipients, notifications and e-mails are worked out by a worker after the commit); the new task's
    deadline is one insert."""
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
    other = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=other.pk)

    def sign_off(app):
        # A user read afresh each time, as in a new request (no cached memberships).
        leader = type(world.user["langya_leader"]).objects.get(username="langya_leader")
        return lambda: svc.application_sign_off(actor=svc.Actor(user=leader), application_id=app.pk)

    call = sign_off(draft)
    with CaptureQueriesContext(connection) as ctx:
        call()
    with_notes = len(ctx.captured_queries)
    effect_queries = [q["sql"].split()[0] for q in ctx.captured_queries if "approvals_effect" in q["sql"]]
    note_queries = [q for q in ctx.captured_queries
                    if "workflows_notification" in q["sql"] or "workflows_emailoutbox" in q["sql"]]
    with mock.patch("approvals.services.queue_for_transition"):
        without, _none = _count(sign_off(other))
    assert (with_notes - without, effect_queries, note_queries) == (1, ["INSERT"], [])

    third = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=third.pk)
    with CaptureQueriesContext(connection) as ctx:
        sign_off(third)()
    assert [q["sql"].split()[0] for q in ctx.captured_queries if "workflows_taskdeadline" in q["sql"]] == ["INSERT"]


@pytest.mark.django_db
def test_admin_sends_a_set_aside_row_again_on_purpose(world, admin_client, django_capture_on_commit_callbacks):
    row = outbox_row(world)
    EmailOutbox.objects.filter(pk=row.pk).update(
        sending_started_at=timezone.now(), failed_at=timezone.now(), last_error="发送中断")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/workflows/emailoutbox/",
                                     {"action": "send_again", "_selected_action": [row.pk]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.sent_at is not None, row.failed_at, len(mail.outbox)) == (True, None, 1)
