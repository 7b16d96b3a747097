"""Celery tasks of designations: they call services and are safe to run twice."""
from celery import shared_task

from .consequences import reports_overdue_run
from .renewals import renewals_remind_run


@shared_task(acks_late=True)
def annual_reports_overdue() -> dict:
    """Daily: annual reports past their due date are reminded, escalated and recorded as missing
    (designations.consequences; each step once per report)."""
    return reports_overdue_run()


@shared_task(acks_late=True)
def renewals_remind() -> dict:
    """Daily: designations within their program's `renewal_remind_months_before` of expiry get their
    renewal application opened and their clerks told (designations.renewals; once per designation)."""
    return renewals_remind_run()
