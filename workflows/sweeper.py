"""The sweeper for stranded work: what should have happened after a commit and did not, put back within
minutes. Runs from beat every SWEEP_INTERVAL_SECONDS (`workflows.tasks.sweep_stranded`).

* a notice timer that is due and its application not approved: approved now, through the service (the
  timers of the flow, workflows.timers);
* an application approved for STRANDED_AFTER_SECONDS with no certificate effect pending (approved before
  the outbox existed, or its issue was refused for the officer who asked): a system issue effect;
* a valid certificate without its PDF for as long, with no render effect pending: a render effect;
* an e-mail that a dead worker left half-sent: set aside for an administrator (never sent twice);
* done effects older than KEEP_DONE_DAYS: deleted.

A pending effect whose message was lost is not the sweeper's: the relay publishes it again. Each part
runs on its own, so that one failing (logged) does not hold up the others.
"""
import datetime as dt
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.utils import timezone

from approvals.models import Application, Status
from approvals.outbox import Effect, effects_add
from printing.models import Certificate, CertificateStatus

from .notifications import emails_in_doubt_set_aside
from .timers import notice_timers_fire

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 60
# Longer than an issue or a render normally takes from the commit (well under a second each, seconds in
# a large bulk issue), so that the sweeper never races work that is merely under way.
STRANDED_AFTER_SECONDS = 120
KEEP_DONE_DAYS = 30
SWEEP_BATCH = 1000


@dataclass
class SweepResult:
    approved_by_timer: int = 0
    issues_put_back: int = 0
    renders_put_back: int = 0
    emails_set_aside: int = 0
    effects_purged: int = 0
    errors: list[str] = field(default_factory=list)


def _pending(kind: str, key):
    return Effect.objects.filter(kind=kind, key=Cast(key, CharField()), done_at__isnull=True)


def approved_without_issue(*, now) -> list[int]:
    """Applications approved at least STRANDED_AFTER_SECONDS ago with no certificate effect pending."""
    return list(
        Application.objects.filter(
            status=Status.APPROVED, stage_entered_at__lte=now - dt.timedelta(seconds=STRANDED_AFTER_SECONDS)
        )
        .exclude(Exists(_pending("certificate_issue", OuterRef("pk"))))
        .order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def certified_without_pdf(*, now) -> list[int]:
    """Valid certificates without a stored PDF, certified at least STRANDED_AFTER_SECONDS ago, with no
    render effect pending."""
    return list(
        Certificate.objects.filter(
            status=CertificateStatus.VALID, pdf_sha256="", application__status=Status.CERTIFIED,
            application__stage_entered_at__lte=now - dt.timedelta(seconds=STRANDED_AFTER_SECONDS),
        )
        .exclude(Exists(_pending("certificate_render", OuterRef("pk"))))
        .order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def stranded_sweep(*, now=None) -> SweepResult:
    now = now or timezone.now()
    result = SweepResult()

    def part(name, call):
        try:
            return call()
        except Exception as exc:  # one part failing does not hold up the others; beat runs us again
            logger.exception("sweeper: %s failed", name)
            result.errors.append(f"{name}: {exc!r}")
            return 0

    result.approved_by_timer = part("notice timers", lambda: notice_timers_fire(now=now))
    result.issues_put_back = part("certificates", lambda: _put_back(
        "certificate_issue", approved_without_issue(now=now), "approved without a certificate effect"))
    result.renders_put_back = part("PDFs", lambda: _put_back(
        "certificate_render", certified_without_pdf(now=now), "certified without a PDF"))
    result.emails_set_aside = part("e-mails", lambda: emails_in_doubt_set_aside(now=now))
    result.effects_purged = part("purge", lambda: _purge(now))
    return result


def _put_back(kind: str, ids: list[int], what: str) -> int:
    if not ids:
        return 0
    logger.warning("sweeper: %d %s (first %s); a %s effect is written for each", len(ids), what, ids[0], kind)
    with transaction.atomic():
        effects_add(kind=kind, items=[(pk, [pk], {}) for pk in ids])
    return len(ids)


def _purge(now) -> int:
    old = Effect.objects.filter(done_at__lte=now - dt.timedelta(days=KEEP_DONE_DAYS)).values_list("pk", flat=True)
    deleted, _detail = Effect.objects.filter(pk__in=list(old[:SWEEP_BATCH])).delete()
    return deleted
