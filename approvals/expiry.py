"""Expiry of designations: the day after a certificate's last valid day (`valid_until`), its application
becomes 已到期 through the expire service, with its audit event, its certificate marked expired and the
applicant's clerks notified (an outbox effect of the same transaction). Run daily from beat at 00:00
Beijing time (`workflows.tasks.expire_designations`); a day missed (beat down) is caught up on the next
run, since every certified application past its date is due, however late."""
import logging
import time
from dataclasses import dataclass

from django.utils import timezone

from . import errors as E
from . import services
from .models import Application, Status

logger = logging.getLogger(__name__)

# Stop after this long and let the task go on in a fresh one, well inside the task time limit.
TIME_BUDGET_SECONDS = 60


@dataclass(frozen=True)
class ExpiryResult:
    expired: int
    refused: int
    more: bool


def designations_due_to_expire(*, today=None) -> list[int]:
    """Certified applications whose certificate's last valid day is before `today`, oldest first."""
    today = today or timezone.localdate()
    return list(
        Application.objects.filter(status=Status.CERTIFIED, certificate__valid_until__lt=today)
        .order_by("certificate__valid_until", "pk").values_list("pk", flat=True)
    )


def designations_expire(*, budget_seconds: float = TIME_BUDGET_SECONDS) -> ExpiryResult:
    """Expire every designation that is due, each in its own transaction; an application that changed
    meanwhile (revoked, say) is refused by the service and skipped."""
    started = time.monotonic()
    expired = refused = 0
    due = designations_due_to_expire()
    for index, application_id in enumerate(due):
        if time.monotonic() - started > budget_seconds:
            logger.info("expiry: time budget used, %d designation(s) left for the next run", len(due) - index)
            return ExpiryResult(expired, refused, more=True)
        try:
            services.application_expire(application_id=application_id)
        except E.ApprovalError as error:
            logger.info("expiry: application %s not expired: %s", application_id, error.message)
            refused += 1
            continue
        expired += 1
    return ExpiryResult(expired, refused, more=False)
