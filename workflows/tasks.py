"""Background work of the flows: the outbox relay and the sweeper, timers, expiry, the deadline sweep, and
the consumers of the notification effects.

Every task takes ids or nothing, calls a service, and can run twice without harm. They inherit the
project's late acknowledgement and reject-on-worker-lost, so a task whose worker dies is delivered again.
The effect consumers (notify_event, send_notification_emails, recount_stays) take `effect_id` from the
relay and run through approvals.outbox.effect_run: no Celery retries, the outbox schedules the next try.
"""
from celery import shared_task
from django.db import OperationalError

from approvals.expiry import designations_expire
from approvals.outbox import effect_run
from approvals.reports import stays_recount

# ------------------------------------------------------------------------------ beat: relay and sweeps


@shared_task(acks_late=True)
def outbox_relay() -> dict:
    """Publish the outbox effects that are due (the broker could not take them at commit time, a failed
    run's backoff is over, or a message seems lost)."""
    from .relay import outbox_relay as relay

    result = relay()
    return {"due": result.due, "published": result.published}


@shared_task(acks_late=True)
def sweep_stranded() -> dict:
    """Put back stranded work: due notice timers, approved without a certificate, certified without a PDF;
    set aside half-sent e-mails."""
    from .sweeper import stranded_sweep

    result = stranded_sweep()
    return {"approved_by_timer": result.approved_by_timer, "issues_put_back": result.issues_put_back,
            "renders_put_back": result.renders_put_back, "emails_set_aside": result.emails_set_aside,
            "effects_purged": result.effects_purged, "errors": result.errors}


@shared_task(acks_late=True)
def expire_designations() -> dict:
    """Daily: designations whose certificate's validity has run out become 已到期 (approvals.expiry)."""
    result = designations_expire()
    if result.more:
        expire_designations.apply_async(countdown=1)  # the time budget ran out: go on in a fresh task
    return {"expired": result.expired, "refused": result.refused, "more": result.more}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=10, retry_backoff_max=60,
             max_retries=3)
def approve_after_notice() -> int:
    """Approve the applications whose public notice has ended (their flow timer is due). The sweeper runs
    the same every minute; this task remains for running it by hand."""
    from .timers import notice_timers_fire

    return notice_timers_fire()


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=10, retry_backoff_max=60,
             max_retries=3)
def sweep_deadlines(today: str | None = None) -> dict:
    """Remind before due dates and escalate after them (idempotent; beat runs it several times a day)."""
    import datetime as dt

    from .deadlines import deadlines_sweep

    result = deadlines_sweep(today=dt.date.fromisoformat(today) if today else None)
    return {"reminded": result.reminded, "escalated": result.escalated}


# ---------------------------------------------------------------------------------- effect consumers


@shared_task(acks_late=True)
def notify_event(application_id: int, seq: int, effect_id: int | None = None) -> int | None:
    """Work out who must hear of an action (its audit event) and create their notifications and e-mails,
    in the transaction that marks the effect done (once)."""
    from .notifications import notification_event_run

    ids = effect_run(effect_id, lambda: notification_event_run(application_id=application_id, seq=seq))
    return len(ids) if isinstance(ids, list) else None


@shared_task(acks_late=True, soft_time_limit=90, time_limit=110)
def send_notification_emails(outbox_ids: list[int], effect_id: int | None = None) -> dict | None:
    """Send the e-mails of these outbox rows; rows already sent, or half-sent by a dead worker, are skipped.
    Each row's send claim commits before the mail server is called, so the work runs outside the effect's
    transaction (atomic=False); a refused send raises after the others were tried, and the outbox
    schedules the next try."""
    from .notifications import outbox_send_many

    result = effect_run(effect_id, lambda: outbox_send_many(outbox_ids=outbox_ids), atomic=False)
    return result if isinstance(result, dict) else None


@shared_task(acks_late=True)
def recount_stays(year: int, effect_id: int | None = None) -> int | None:
    """The working-day calendar of `year` changed: count again the reports' stays that touch it, the open
    tasks' due dates and the ends of the running public notices (pure recomputations, so they run
    outside the effect's transaction and may be repeated)."""
    from .deadlines import deadlines_recount, notices_recount
    from .workdays import clear_cache

    def work():
        clear_cache()  # this worker may still hold the calendar as it was before the edit
        deadlines_recount()
        notices_recount()
        return stays_recount(year=year)

    result = effect_run(effect_id, work, atomic=False)
    return result if isinstance(result, int) else None


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=10, retry_backoff_max=60,
             max_retries=3)
def remind_missing_calendar(today: str | None = None) -> int:
    """From the configured date each year, tell the administrators (once each) that next year's holiday
    arrangement is still missing; a no-op before that date or once the year is loaded."""
    import datetime as dt

    from .admin_notices import calendar_missing_remind

    return calendar_missing_remind(today=dt.date.fromisoformat(today) if today else None)
