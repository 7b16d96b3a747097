"""Background work of the security app (docs/security.md): the nightly signed digest of the security log,
as the audit chains' (approvals.tasks.write_audit_digest; the write_security_digest command runs the same),
and the purge of events older than the retention (SECURITY_LOG_RETENTION_DAYS, the purge_security_log
command runs the same)."""
import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from approvals.audit_anchor import Digest, DigestError, consistent_read, digest_add, digests_check

from .models import GENESIS, Kind, SecurityChainHead, SecurityEvent, SecurityLogAnchor
from .selectors import security_start, security_verify
from .services import security_record

logger = logging.getLogger(__name__)


def security_log_check(directory=None) -> tuple[bool, str]:
    """The chain against the latest signed digest (SECURITY_DIGEST_DIR, or `directory`), in one snapshot:
    (True, the summary) or (False, the first problem, of the digests or of the chain)."""
    try:
        digest = digests_check(directory if directory is not None else settings.SECURITY_DIGEST_DIR)
    except DigestError as exc:
        return False, str(exc)
    with consistent_read():
        return security_verify(anchor=digest.heads.get(0) if digest else None,
                               signed_start=digest.heads.get(1) if digest else None)


def security_digest_write() -> tuple[Digest, int]:
    """Check the chain against the latest digest, then sign its head (one snapshot) as the next digest;
    return it and the sequence number it covers. DigestError (nothing written) when the check fails: a
    digest then would anchor the tampering; FileExistsError when another writer took the number."""
    folder = settings.SECURITY_DIGEST_DIR
    latest = digests_check(folder)
    with consistent_read():
        as_of = timezone.now()
        ok, message = security_verify(anchor=latest.heads.get(0) if latest else None,
                                      signed_start=latest.heads.get(1) if latest else None)
        seq, head = SecurityChainHead.objects.filter(pk=1).values_list("seq", "head").first() or (0, GENESIS)
        start = security_start()
    if not ok:
        raise DigestError(message)
    return digest_add(heads=_rows(seq, head, start), as_of=as_of, directory=folder), seq


def _rows(seq: int, head: str, start: tuple[int, str]) -> list[tuple[int, int, str]]:
    """A security digest's rows: 0, the head; after a purge 1, the start (the last purged event)."""
    return [(0, seq, head)] + ([(1, *start)] if start[0] else [])


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


class PurgeRefused(Exception):
    """The log fails its check against the latest digest: nothing is purged (a Chinese message)."""


def security_log_purge(*, now=None) -> tuple[int, int]:
    """Delete the events older than SECURITY_LOG_RETENTION_DAYS, keeping the chain verifiable; return
    (events deleted, the last deleted seq), (0, start) when there is nothing to purge.

    Only events that the latest signed digest already covers (seq up to its head) are purged, and only a
    run from the chain's start (the chain is cut, never holed). First the chain is checked against that
    digest (PurgeRefused otherwise); then a new digest signs the head and, as row 1, the last purged
    event's seq and hash (the new start); only then, in one transaction, the start is recorded
    (SecurityLogAnchor), the events are deleted, and the purge is written as a security event. A failure
    after the digest leaves the events in place: the next check starts earlier than the signed start,
    which verifies, and the next purge deletes them."""
    folder = settings.SECURITY_DIGEST_DIR
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.SECURITY_LOG_RETENTION_DAYS)
    latest = digests_check(folder)
    start = security_start()
    if latest is None or 0 not in latest.heads:
        return 0, start[0]
    covered = latest.heads[0][0]
    with consistent_read():
        as_of = timezone.now()
        ok, message = security_verify(anchor=latest.heads.get(0), signed_start=latest.heads.get(1))
        start = security_start()
        seq, head = SecurityChainHead.objects.filter(pk=1).values_list("seq", "head").first() or (0, GENESIS)
        kept = SecurityEvent.objects.filter(created_at__gte=cutoff).order_by("seq").values_list(
            "seq", flat=True).first()
        through = min(covered, seq if kept is None else kept - 1)
        through_hash = SecurityEvent.objects.filter(seq=through).values_list("hash", flat=True).first()
    if not ok:
        raise PurgeRefused(message)
    if through <= start[0] or through_hash is None:
        return 0, start[0]
    digest = digest_add(heads=_rows(seq, head, (through, through_hash)), as_of=as_of, directory=folder,
                        note=f"purge through {through}")
    with transaction.atomic():
        SecurityLogAnchor.objects.create(seq=through, hash=through_hash, purged_at=timezone.now(),
                                         digest_number=digest.number)
        deleted = SecurityEvent.objects.filter(seq__lte=through).delete()[0]  # one DELETE: nothing refers to events
        security_record(Kind.LOG_PURGED, target=f"1-{through}" if not start[0] else f"{start[0] + 1}-{through}",
                        detail={"through_seq": through, "through_hash": through_hash, "deleted": deleted,
                                "retention_days": settings.SECURITY_LOG_RETENTION_DAYS,
                                "before": cutoff.isoformat(timespec="seconds"), "digest": digest.number})
    return deleted, through


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=60, max_retries=3,
             soft_time_limit=1800, time_limit=1900)
def purge_security_log() -> int:
    """The nightly purge (after the nightly digest); return the number of events deleted. A log that fails
    its check, or digests that do, purges nothing and is logged as an error."""
    try:
        return security_log_purge()[0]
    except (PurgeRefused, DigestError, FileExistsError) as exc:
        logger.error("security log not purged: %s", exc)
        return 0
