"""The end of public-notice periods: the flow's `wait_notice` timers that are due are fired through the
approve service, with the system actor, so the status, the audit event, the timer task and the
certificate's outbox effect are written in one transaction (approvals.services.application_approve).
The sweeper (workflows.sweeper) runs this every minute."""
import logging

from django.utils import timezone
from viewflow.workflow.status import STATUS

from approvals import errors as E
from approvals import services
from approvals.models import Application, Status

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
    worker) is refused by the service with a conflict or wrong-state error, which is skipped. Any other
    error is logged and the loop goes on with the next application (the next run tries it again)."""
    approved = 0
    for application_id in due_notice_application_ids(now=now):
        try:
            services.application_approve(actor=services.SYSTEM_ACTOR, application_id=application_id)
        except E.ApprovalError as error:
            logger.info("Notice of application %s not closed: %s", application_id, error.message)
            continue
        except Exception:
            logger.exception("Notice of application %s not closed; the next sweep tries again", application_id)
            continue
        approved += 1
    return approved


