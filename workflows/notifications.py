"""Notifications: in-app messages and their e-mails. An action's audit event is its durable record, and
the action writes one outbox effect for it (approvals.outbox, `notify_event`) in its transaction. A worker
carries the effect out: it reads the event, works out the recipients and creates the notifications and
their e-mails in the transaction that marks the effect done (so once), and writes the e-mails' own effect
(`email_send`), whose task sends them.

Delivery guarantees (see docs/outbox.md and docs/deadlines-notifications.md):

* nothing is lost when the broker is down: the effects commit with the action (and each `EmailOutbox`
  row with its notification), and the relay publishes whatever the broker could not take at commit time;
* an e-mail is never sent twice: a worker sends only after a conditional UPDATE set `sending_started_at`
  on a row where it was empty. A worker killed before that claim leaves the row untouched, and the
  redelivered task sends it. A worker killed between the claim and recording `sent_at` (the SMTP
  conversation itself) leaves a row that is never sent again automatically (at most once): the sweeper
  marks it for an administrator and logs an error (`emails_in_doubt_set_aside`).
"""
import datetime as dt
import logging
import time
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from approvals.models import Application, AuditEvent, ExpertAssignment, Stage, Status
from approvals.outbox import effect_add
from approvals.stages import (
    REPORT_ACTIONS,
    REPORT_RESULT_ACTIONS,
    REPORT_RETURN_ACTIONS,
    SIGNOFF_WITHOUT_CITY,
    STAGES,
    Action,
    Notify,
    actions_notifying,
)
from orgs.access import pool_members
from orgs.models import Role

from .models import EmailOutbox, Notification, NotificationKind, NotificationPreference

logger = logging.getLogger(__name__)

K = NotificationKind
S = Status

EMAIL_SUBJECT_PREFIX = "【科协试点申报】"
# Give up on an address after this many refusals by the mail server.
MAX_ATTEMPTS = 8
# A claim older than this belongs to a dead worker: Celery's hard time limit (120 s) killed any live one
# long before.
IN_DOUBT_AFTER_SECONDS = 900

# Actions after which the pool of the new stage has a task (a score only when it was the last one), and the
# others by whom they tell: read from the stage table.
TASK_ACTIONS = actions_notifying(Notify.POOL)
NOTIFIED_ACTIONS = actions_notifying()
DECISION_ACTIONS = actions_notifying(Notify.DECIDED)
EXPIRED_ACTIONS = actions_notifying(Notify.EXPIRED)

SENT, ALREADY_SENT, IN_DOUBT, GAVE_UP, MISSING, TAKEN = (
    "sent", "already_sent", "in_doubt", "gave_up", "missing", "taken",
)


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    url: str = ""


def _safe_reverse(name: str, **kwargs) -> str:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""


def application_url(application_id: int) -> str:
    return _safe_reverse("approvals:detail", pk=application_id)


def absolute_url(path: str) -> str:
    base = getattr(settings, "PUBLIC_BASE_URL", "").rstrip("/")
    return f"{base}{path}" if path else ""


# ------------------------------------------------------------------------------------------ selectors


def notification_list(*, user, unread_only: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(user=user).select_related("application")
    return qs.filter(read_at__isnull=True) if unread_only else qs


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_preferences(*, user) -> dict[str, bool]:
    """{kind: e-mail on} for every kind; a kind without a row is on."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email_enabled"))
    return {kind: chosen.get(kind, True) for kind in K.values}


# ------------------------------------------------------------------------------------- in-app services


def notification_mark_read(*, user, notification_id: int) -> bool:
    """Mark one of the user's notifications read; False if it is not theirs or was read already."""
    return bool(
        Notification.objects.filter(pk=notification_id, user=user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    )


def notification_mark_all_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_preference_set(*, user, kind: str, email_enabled: bool) -> NotificationPreference:
    if kind not in K.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user, kind=kind, defaults={"email_enabled": email_enabled}
    )
    return preference


# ------------------------------------------------------------------------------------------- creating


def _email_text(message: Message) -> tuple[str, str]:
    link = absolute_url(message.url)
    preferences = absolute_url(_safe_reverse("workflows:notification_preferences"))
    body = message.body + (f"\n\n查看详情：{link}" if link else "")
    body += "\n\n——\n本邮件由系统自动发送，请勿回复。"
    if preferences:
        body += f"\n不想接收此类邮件，可在通知设置中关闭：{preferences}"
    return f"{EMAIL_SUBJECT_PREFIX}{message.title}", body


def notifications_create(
    *, batches: list[tuple[QuerySet, Message]], key: str, application=None, exclude_user_id=None,
) -> list[int]:
    """One notification per user of each batch, and its e-mail unless the user switched that kind off.

    `key` names the occasion (the same occasion never notifies the same user twice). Costs one query per
    batch for the recipients and their preference, then one insert of notifications and one of e-mails.
    Returns the ids of the outbox rows; queue them with `queue_emails` in the same transaction.
    """
    now = timezone.now()
    notifications, emails = [], []
    for users, message in batches:
        prefs = NotificationPreference.objects.filter(user=OuterRef("pk"), kind=message.kind, email_enabled=False)
        if exclude_user_id is not None:
            users = users.exclude(pk=exclude_user_id)
        subject, text = _email_text(message)
        for user_id, email, email_off in users.annotate(email_off=Exists(prefs)).values_list("pk", "email", "email_off"):
            notification = Notification(
                user_id=user_id, kind=message.kind, application_id=getattr(application, "pk", None),
                title=message.title[:200],
                body=message.body, url=message.url, created_at=now,
                dedup_key=f"{message.kind}:{key}:{user_id}"[:200],
            )
            notifications.append(notification)
            if email and not email_off:
                emails.append((notification, email, subject, text))
    if not notifications:
        return []
    Notification.objects.bulk_create(notifications)
    rows = EmailOutbox.objects.bulk_create(
        [EmailOutbox(notification=n, to_email=email, subject=subject[:255], body=text, created_at=now)
         for n, email, subject, text in emails]
    )
    return [row.pk for row in rows]


def queue_emails(outbox_ids: list[int]) -> None:
    """Have these outbox rows sent by a worker: one `email_send` effect, written in the caller's
    transaction (the one that created the rows) and published once it commits."""
    if outbox_ids:
        ids = sorted(outbox_ids)
        effect_add(kind="email_send", key=ids[0], args=[ids])


def _stage_message(application, status: str) -> Message:
    from .workdays import due_date_info

    stage = Stage(status).label
    subject, program = application.subject_name, application.program.name_zh
    body = f"“{program}”申报“{subject}”已进入“{stage}”环节，请及时办理。"
    limit = application.program.stage_time_limits.get(status)
    if limit:
        due_on, estimate = due_date_info(application.stage_entered_at, int(limit))
        body += f"办理期限：{due_on:%Y-%m-%d}（{limit} 个工作日{'，估算' if estimate else ''}）。"
    return Message(K.TASK, f"待办：{subject}（{stage}）", body, application_url(application.pk))


def queue_for_transition(*, application, action: str) -> None:
    """Have the action's event told to the people it concerns, by a worker after the commit: one
    `notify_event` effect in the action's transaction (the audit event it has just appended is the
    record of what to tell)."""
    if action not in NOTIFIED_ACTIONS:
        raise ValueError(f"{action!r} is not in NOTIFIED_ACTIONS")
    effect_add(kind="notify_event", key=f"{application.pk}:{application.audit_seq}",
               args=[application.pk, application.audit_seq])


def notification_event_run(*, application_id: int, seq: int) -> list[int]:
    """Create the notifications and e-mails of one audit event, in the caller's transaction (the notify
    effect's, which marks it done: so once). Run again without the effect (by hand), it finds the
    notifications made already (their unique keys) and makes nothing."""
    event = AuditEvent.objects.filter(application_id=application_id, seq=seq).select_related("actor").first()
    if event is None:
        return []
    current = Application.objects.select_related("program").get(pk=application_id)
    # Tell of the application as the action left it (it may have moved on since).
    application = SimpleNamespace(
        pk=current.pk, program=current.program, subject_name=current.subject_name,
        applicant_id=current.applicant_id, city_id=current.city_id, province_id=current.province_id,
        status=event.to_status, revision=event.revision, audit_seq=seq, stage_entered_at=event.created_at,
    )
    try:
        with transaction.atomic():
            ids = _notify_for_action(application=application, action=event.action, actor_user=event.actor,
                                     comment=event.comment)
    except IntegrityError:
        logger.info("event %s#%s: its notifications exist already", application_id, seq)
        return []
    queue_emails(ids)
    return ids


def _notify_for_action(*, application, action: str, actor_user, comment: str = "") -> list[int]:
    """Notify whoever the action concerns, in the action's transaction; e-mail them after the commit.

    The pool of the stage the application entered gets a task notice (the assigned experts after
    `assign_experts`); the applicant's clerks hear of a return, a decision and the certificate.
    """
    from .nodes import pool_organization_id

    status = application.status
    subject, program, url = application.subject_name, application.program.name_zh, application_url(application.pk)
    comment = (comment or "").strip()
    batches = []

    def clerks():
        return pool_members(organization_id=application.applicant_id, role=Role.CLERK)

    if action in REPORT_ACTIONS:
        # An annual report of the designation (designations.reports): the comment says which and why.
        role, level = REPORT_ACTIONS[action].notifies
        if action in SIGNOFF_WITHOUT_CITY and application.applicant_id == application.city_id:
            role, level = REPORT_ACTIONS[SIGNOFF_WITHOUT_CITY[action]].notifies
        label = REPORT_ACTIONS[action].label
        body = f"“{program}”“{subject}”：{label}。" + (f"\n{comment}" if comment else "")
        kind = K.RETURNED if action in REPORT_RETURN_ACTIONS else (
            K.DECIDED if action in REPORT_RESULT_ACTIONS else K.TASK)
        batches.append((pool_members(organization_id=pool_organization_id(application, level), role=role),
                        Message(kind, f"{label}：{subject}", body, url)))
    elif action == Action.RETURN:
        body = f"“{program}”申报“{subject}”被退回修改，请修改后重新提交（第 {application.revision} 版）。"
        batches.append((clerks(), Message(K.RETURNED, f"退回修改：{subject}", body + f"\n退回意见：{comment}", url)))
    elif action in DECISION_ACTIONS:
        result = S(status).label
        body = f"“{program}”申报“{subject}”的审批结果：{result}。" + (f"\n意见：{comment}" if comment else "")
        batches.append((clerks(), Message(K.DECIDED, f"审批结果：{subject}（{result}）", body, url)))
    elif action == Action.ISSUE_CERTIFICATE:
        body = f"“{program}”申报“{subject}”已颁发证书" + (f"，证书编号：{comment}。" if comment else "。")
        batches.append((clerks(), Message(K.CERTIFICATE, f"证书已颁发：{subject}", body, url)))
    elif action in EXPIRED_ACTIONS:
        body = f"“{program}”“{subject}”的认定有效期已满，证书自今日起失效（已到期）。如需继续，请按规定申请复核。"
        batches.append((clerks(), Message(K.EXPIRED, f"认定已到期：{subject}", body, url)))

    if action == Action.ASSIGN_EXPERTS:
        experts = get_user_model().objects.filter(
            is_active=True,
            # Everyone assigned in that revision (by the time this job runs some may have scored already).
            pk__in=ExpertAssignment.objects.filter(
                application_id=application.pk, revision=application.revision
            ).values("expert_id"),
        )
        batches.append((experts, _stage_message(application, status)))
    elif action in TASK_ACTIONS and STAGES.get(status) and STAGES[status].node and not (
        action == Action.SCORE and status == S.EXPERT_REVIEW
    ):
        role, level = STAGES[status].role, STAGES[status].level
        pool = pool_members(organization_id=pool_organization_id(application, level), role=role)
        batches.append((pool, _stage_message(application, status)))

    if not batches:
        return []
    return notifications_create(
        batches=batches, key=f"{application.pk}:{application.audit_seq}", application=application,
        exclude_user_id=actor_user.pk if actor_user is not None else None,
    )


# -------------------------------------------------------------------------------------------- sending


def _test_pause(setting: str, outbox_id: int) -> None:
    """Integration tests kill a worker here (NOTIFY_TEST_DELAY_SECONDS / ..._AFTER_SEND_SECONDS)."""
    seconds = float(getattr(settings, setting, 0) or 0)
    if seconds:
        logger.warning("outbox %s: %s, pausing %.1f s", outbox_id, setting, seconds)
        time.sleep(seconds)


def outbox_send(*, outbox_id: int) -> str:
    """Send one outbox row at most once; returns what happened (SENT, ALREADY_SENT, IN_DOUBT, ...).

    Raises the mail backend's error after releasing the claim, so that the task retries it.
    """
    row = EmailOutbox.objects.filter(pk=outbox_id).first()
    if row is None:
        return MISSING
    if row.sent_at is not None:
        return ALREADY_SENT
    if row.failed_at is not None:
        return GAVE_UP
    if row.sending_started_at is not None:
        # Another worker is sending it, or one died while it talked to the mail server: whether the
        # server accepted the message is unknown, and sending again could duplicate it.
        logger.warning("outbox %s: a send began at %s and never finished; not sending again",
                       outbox_id, row.sending_started_at)
        return IN_DOUBT
    _test_pause("NOTIFY_TEST_DELAY_SECONDS", outbox_id)
    claimed = EmailOutbox.objects.filter(
        pk=outbox_id, sent_at__isnull=True, sending_started_at__isnull=True, failed_at__isnull=True
    ).update(sending_started_at=timezone.now(), attempts=F("attempts") + 1)
    if not claimed:
        return TAKEN
    try:
        send_mail(row.subject, row.body, settings.DEFAULT_FROM_EMAIL, [row.to_email], fail_silently=False)
    except Exception as exc:
        # The backend raised: the server refused or could not be reached, so the message was not handed
        # over; release the claim for a retry, or give up after MAX_ATTEMPTS.
        attempts = row.attempts + 1
        give_up = attempts >= MAX_ATTEMPTS
        EmailOutbox.objects.filter(pk=outbox_id).update(
            sending_started_at=None, last_error=repr(exc)[:2000], failed_at=timezone.now() if give_up else None
        )
        if give_up:
            logger.error("outbox %s: giving up after %d attempts: %r", outbox_id, attempts, exc)
            return GAVE_UP
        raise
    _test_pause("NOTIFY_TEST_DELAY_AFTER_SEND_SECONDS", outbox_id)
    EmailOutbox.objects.filter(pk=outbox_id).update(sent_at=timezone.now(), last_error="")
    return SENT


def outbox_send_many(*, outbox_ids: list[int]) -> dict[str, int]:
    """Send each row; if any raised, re-raise the first error after trying them all (sent rows skip)."""
    results: dict[str, int] = {}
    error = None
    for outbox_id in outbox_ids:
        try:
            result = outbox_send(outbox_id=outbox_id)
        except Exception as exc:
            error = error or exc
            result = "error"
        results[result] = results.get(result, 0) + 1
    if error is not None:
        raise error
    return results


def emails_in_doubt_set_aside(*, now=None, in_doubt_after_seconds: int = IN_DOUBT_AFTER_SECONDS) -> int:
    """Set aside e-mails a dead worker left half-sent (claimed, never recorded as sent), for an
    administrator, and log each as an error. Returns how many."""
    now = now or timezone.now()
    in_doubt = list(
        EmailOutbox.objects.filter(
            sent_at__isnull=True, failed_at__isnull=True,
            sending_started_at__lte=now - dt.timedelta(seconds=in_doubt_after_seconds),
        ).values_list("pk", "to_email", "subject")
    )
    for pk, to_email, subject in in_doubt:
        logger.error("outbox %s: a worker died while sending %r to %s; it may or may not have been "
                     "delivered and is not resent automatically (admin: 邮件发件箱)", pk, subject, to_email)
    if in_doubt:
        EmailOutbox.objects.filter(pk__in=[pk for pk, _to, _s in in_doubt], sent_at__isnull=True).update(
            failed_at=now, last_error="发送中断：工作进程在与邮件服务器通信时终止，无法确认是否送达，未自动重发"
        )
    return len(in_doubt)


def outbox_retry(*, outbox_ids: list[int]) -> int:
    """An administrator's decision to send set-aside rows again (they may arrive twice)."""
    with transaction.atomic():
        count = EmailOutbox.objects.filter(pk__in=outbox_ids, sent_at__isnull=True).update(
            failed_at=None, sending_started_at=None, attempts=0
        )
        queue_emails(outbox_ids)
    return count
