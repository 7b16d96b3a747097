"""Background work of the flows: timers, the deadline sweep and notification e-mails.

Every task takes ids or nothing, calls a service, and can run twice without harm. They inherit the
project's late acknowledgement and reject-on-worker-lost, so a task whose worker dies is delivered again.
"""
from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3)
def approve_after_notice() -> int:
    """Approve the applications whose public notice has ended (their flow timer is due)."""
    from .timers import notice_timers_fire

    return notice_timers_fire()


@shared_task(
    acks_late=True,
    # The mail server or the database was unreachable: try again with exponential backoff (30 s, 60 s, …,
    # at most 10 min, jittered), well inside the broker's visibility timeout.
    autoretry_for=(OSError, OperationalError),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
    soft_time_limit=120,
    time_limit=180,
)
def send_notification_emails(outbox_ids: list[int]) -> dict:
    """Send the e-mails of these outbox rows; rows already sent, or half-sent by a dead worker, are skipped."""
    from .notifications import outbox_send_many

    return outbox_send_many(outbox_ids=outbox_ids)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=30, retry_backoff_max=600,
             retry_jitter=True, max_retries=6)
def notify_event(application_id: int, seq: int) -> int:
    """Work out who must hear of an action (its audit event) and create their notifications and e-mails
    (once)."""
    from .notifications import notification_event_run

    return len(notification_event_run(application_id=application_id, seq=seq))


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3)
def sweep_deadlines(today: str | None = None) -> dict:
    """Remind before due dates and escalate after them (idempotent; beat runs it several times a day)."""
    import datetime as dt

    from .deadlines import deadlines_sweep

    result = deadlines_sweep(today=dt.date.fromisoformat(today) if today else None)
    return {"reminded": result.reminded, "escalated": result.escalated}


@shared_task(acks_late=True)
def flush_email_outbox() -> dict:
    """Queue outbox e-mails that no task picked up, and set aside those a dead worker left half-sent."""
    from .notifications import outbox_flush

    queued, set_aside = outbox_flush()
    return {"queued": queued, "set_aside": set_aside}


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3)
def recount_stays(year: int) -> int:
    """The working-day calendar of `year` changed: count again the reports' stays that touch it, the open
    tasks' due dates and the ends of the running public notices (all idempotent)."""
    from approvals.reports import stays_recount

    from .deadlines import deadlines_recount
    from .timers import notices_recount
    from .workdays import clear_cache

    clear_cache()  # this worker may still hold the calendar as it was before the edit
    deadlines_recount()
    notices_recount()
    return stays_recount(year=year)


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3)
def remind_missing_calendar(today: str | None = None) -> int:
    """From the configured date each year, tell the administrators (once each) that next year's holiday
    arrangement is still missing; a no-op before that date or once the year is loaded."""
    import datetime as dt

    from .admin_notices import calendar_missing_remind

    return calendar_missing_remind(today=dt.date.fromisoformat(today) if today else None)
