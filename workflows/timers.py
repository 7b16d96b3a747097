"""The end of public-notice periods: the flow's `wait_notice` timers that are due are fired through the
approve service, with the system actor, so the status, the audit event, the timer task and the queueing
of the certificate happen in one transaction (approvals.services.application_approve). When a year's
holiday arrangement changes, the running notices' ends are counted again (`notices_recount`)."""
import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone
from viewflow.workflow.status import STATUS

from approvals import errors as E
from approvals.models import Application, Status

from .workdays import add_workdays

logger = logging.getLogger(__name__)


def due_notice_application_ids(*, now=None) -> list[int]:
    """Applications in public notice whose notice timer is due, oldest first (one query)."""
    from .flows import ApplicationFlow

    due = ApplicationFlow.task_class._default_manager.filter(
        flow_task=ApplicationFlow.wait_notice, status=STATUS.SCHEDULED, scheduled__lte=now or timezone.now(),
    ).values("process_id")
    return list(
        Application.objects.filter(process_id__in=due, status=Status.PUBLIC_NOTICE)
        .order_by("notice_ends_on", "pk").values_list("pk", flat=True)
    )


def notice_timers_fire(*, now=None) -> int:
    """Approve every application whose notice timer is due; return how many were approved. Safe to run
    twice or from two workers at once: an application approved meanwhile (by a leader, or the other
    worker) is refused by the service with a conflict or wrong-state error, which is skipped."""
    from approvals import services

    approved = 0
    for application_id in due_notice_application_ids(now=now):
        try:
            services.application_approve(actor=services.SYSTEM_ACTOR, application_id=application_id)
        except E.ApprovalError as error:
            logger.info("Notice of application %s not closed: %s", application_id, error.message)
            continue
        approved += 1
    return approved


def notices_recount(*, today: dt.date | None = None) -> int:
    """Count again the end of every public notice still running (its last day not past), on the calendar
    as it stands, and move its flow timer with it: a notice published while the next year was provisional
    ends on the day the State Council's arrangement gives. Returns how many ends moved."""
    from .flows import ApplicationFlow

    today = today or timezone.localdate()
    running = (Application.objects.filter(status=Status.PUBLIC_NOTICE, notice_ends_on__gte=today,
                                          notice_starts_on__isnull=False)
               .select_related("batch").only("pk", "process_id", "notice_starts_on", "notice_ends_on",
                                             "batch__notice_workdays"))
    moved = 0
    for application in running:
        ends_on = add_workdays(application.notice_starts_on - dt.timedelta(days=1), application.batch.notice_workdays)
        if ends_on == application.notice_ends_on:
            continue
        with transaction.atomic():
            Application.objects.filter(pk=application.pk, notice_ends_on=application.notice_ends_on).update(
                notice_ends_on=ends_on)
            ApplicationFlow.task_class._default_manager.filter(
                process_id=application.process_id, flow_task=ApplicationFlow.wait_notice, status=STATUS.SCHEDULED,
            ).update(scheduled=timezone.make_aware(dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time.min)))
        logger.info("notice of application %s now ends on %s (was %s)", application.pk, ends_on,
                    application.notice_ends_on)
        moved += 1
    return moved
