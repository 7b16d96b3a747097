"""The outbox relay: hand to the broker the effects that are due and not yet with it, and those it seems
to have lost. Runs from beat every RELAY_INTERVAL_SECONDS (`workflows.tasks.outbox_relay`) and from
`manage.py flush_outbox`.

An effect is due when it is pending (not done, not set aside), its `available_at` has come (a failed
run waits out its backoff), and either it was never published and is older than the grace period (the
kick after the commit normally publishes it within milliseconds; the grace keeps the relay from racing
it), or it was published more than REDELIVER_AFTER_SECONDS ago and is still not done: the message was
lost (a broker restarted without its data, say). The consumers are idempotent, so publishing an effect
whose message was only slow costs a no-op run; REDELIVER_AFTER_SECONDS is chosen longer than a broker
needs to hand a dead worker's message to another (docs/outbox.md, "Timing").
"""
import datetime as dt
import logging
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from approvals.outbox import Effect, effects_publish

logger = logging.getLogger(__name__)

RELAY_INTERVAL_SECONDS = 30
GRACE_SECONDS = 10
REDELIVER_AFTER_SECONDS = 300
RELAY_BATCH = 500
# The relay waits a little longer for the broker than a request's kick does: it runs in a worker.
RELAY_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


@dataclass(frozen=True)
class RelayResult:
    due: int
    published: int


def effects_due(*, now=None, grace_seconds: int = GRACE_SECONDS,
                redeliver_after_seconds: int = REDELIVER_AFTER_SECONDS):
    """The effects the relay should publish now, oldest first (reads the partial index effect_due_idx)."""
    now = now or timezone.now()
    return (
        Effect.objects.filter(done_at__isnull=True, failed_at__isnull=True, available_at__lte=now)
        .filter(
            Q(published_at__isnull=True, created_at__lte=now - dt.timedelta(seconds=grace_seconds))
            | Q(published_at__lte=now - dt.timedelta(seconds=redeliver_after_seconds))
        )
        .order_by("available_at", "pk")
    )


def outbox_relay(*, now=None, grace_seconds: int = GRACE_SECONDS,
                 redeliver_after_seconds: int = REDELIVER_AFTER_SECONDS, batch: int = RELAY_BATCH) -> RelayResult:
    """Publish up to `batch` due effects; stop at the first broker error (logged; the next run goes on)."""
    due = list(effects_due(now=now, grace_seconds=grace_seconds, redeliver_after_seconds=redeliver_after_seconds)
               [:batch])
    redelivered = [e for e in due if e.published_at is not None]
    if redelivered:
        logger.warning("outbox: %d effect(s) published more than %d s ago are not done; publishing again "
                       "(first %s#%s)", len(redelivered), redeliver_after_seconds, redelivered[0].kind,
                       redelivered[0].pk)
    published = effects_publish(due, retry_policy=RELAY_RETRY_POLICY) if due else 0
    return RelayResult(due=len(due), published=published)
