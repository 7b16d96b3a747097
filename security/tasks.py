"""Background work of the security app: the nightly signed digest of the security log (docs/security.md),
as the audit chains' (approvals.tasks.write_audit_digest); the write_security_digest command runs the same."""
import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from approvals.audit_anchor import Digest, DigestError, consistent_read, digest_add, digests_check

from .models import GENESIS, SecurityChainHead
from .selectors import security_verify

logger = logging.getLogger(__name__)


def security_digest_write() -> tuple[Digest, int]:
    """Check the chain against the latest digest, then sign its head (one snapshot) as the next digest;
    return it and the sequence number it covers. DigestError (nothing written) when the check fails: a
    digest then would anchor the tampering; FileExistsError when another writer took the number."""
    folder = settings.SECURITY_DIGEST_DIR
    latest = digests_check(folder)
    with consistent_read():
        as_of = timezone.now()
        ok, message = security_verify(anchor=latest.heads.get(0) if latest else None)
        seq, head = SecurityChainHead.objects.filter(pk=1).values_list("seq", "head").first() or (0, GENESIS)
    if not ok:
        raise DigestError(message)
    return digest_add(heads=[(0, seq, head)], as_of=as_of, directory=folder), seq


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3,
             soft_time_limit=1800, time_limit=1900)
def write_security_digest(min_interval_seconds: int = 3600) -> int | None:
    """The nightly digest; return its number. One written less than `min_interval_seconds` ago makes this
    a no-op (a redelivered or doubled run adds nothing). A failed check writes nothing and is logged as an
    error; verify_security_log --digests reports it too."""
    try:
        latest = digests_check(settings.SECURITY_DIGEST_DIR)
        if latest and timezone.now() - latest.as_of < dt.timedelta(seconds=min_interval_seconds):
            return None
        return security_digest_write()[0].number
    except (DigestError, FileExistsError) as exc:
        logger.error("security digest not written: %s", exc)
        return None
