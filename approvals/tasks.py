"""Background work of the approvals app: the nightly signed digest of the audit chains (docs/audit.md)."""
import datetime as dt
import logging

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from .audit_anchor import DigestRefused, digest_latest_written
from .audit_services import audit_digest_write

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3,
    # The check walks and hashes every event of every chain: on a large trail longer than the default limit.
    soft_time_limit=1800, time_limit=1900,
)
def write_audit_digest(min_interval_seconds: int = 3600) -> int | None:
    """Check the chains and add the next signed digest; return its number. A digest written less than
    `min_interval_seconds` ago makes this a no-op, so a redelivered or doubled run adds nothing. When the
    check fails nothing is written and the failure is logged as an error; verify_audit reports it too, and
    after AUDIT_DIGEST_MAX_AGE_HOURS it also reports the digest as overdue."""
    latest = digest_latest_written()
    if latest and timezone.now() - latest.as_of < dt.timedelta(seconds=min_interval_seconds):
        return None
    try:
        return audit_digest_write().number
    except DigestRefused as exc:
        logger.error("audit digest not written: the chains disagree with the latest digest: %s", exc)
        return None
