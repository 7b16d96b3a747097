"""Celery tasks of printing: they take ids, call services, and are safe to run twice.

All are consumers of outbox effects (approvals.outbox): ``issue_certificate_task`` of the effect that
``application_approve`` (the flow) and the bulk issue of a batch write, ``render_certificate_task`` of
the one that the issue writes, ``render_form_task`` of the one the print view writes for a large 申报书.
Exactly once is held by the database, not by Celery: the issue runs in the transaction that marks its
effect done (a second delivery waits, then finds it done), and the certificate is a unique one-to-one row
reserved in the same transaction as its gap-free number; the renders run outside a transaction, and the
certificate's PDF is recorded by a conditional update under its row lock (see
``printing.services.certificate_render_and_store``), so a second run changes nothing. A failed run
(a locked row, a lost database connection, a render error) rolls back and is tried again by the outbox
with backoff; refusals that a retry cannot change (the application is gone, not approved, or the person
may not issue) are noted on the effect and not retried.
"""
import logging
import os

from celery import shared_task
from celery.signals import worker_init, worker_process_init
from django.contrib.auth import get_user_model

from approvals import errors as E
from approvals.models import Application
from approvals.outbox import Outcome, effect_run, effects_run_here, test_pause
from approvals.services import SYSTEM_ACTOR, Actor, application_issue_certificate

logger = logging.getLogger(__name__)

#: The effects an issue writes that its own task carries out after the issue's commit.
INLINE_AFTER_ISSUE = frozenset({"certificate_render", "notify_event"})


@worker_init.connect
def _prepare_print_fonts(sender=None, **kwargs):
    """Build the reduced print fonts once in the worker's main process, before the pool forks: every child
    inherits them (copy-on-write) instead of spending seconds of HarfBuzz subsetting on its first render.
    Only ctypes and HarfBuzz run here; WeasyPrint is still imported by the children, inside the tasks."""
    from .render import get_print_fonts

    get_print_fonts()
    _preload_signers()


def _preload_signers():
    """Decrypt the provinces' signing keys once, before the fork (printing.signing.signers_preload): the
    pool processes inherit them. A database that cannot be reached yet only means each process decrypts
    its key at its first certificate, as without this."""
    from django.db import connections

    from .signing import signers_preload

    try:
        count = signers_preload()
    except Exception:  # noqa: BLE001 - the worker must start anyway; logged
        logger.warning("Signing keys not preloaded; each pool process loads its own", exc_info=True)
    else:
        logger.info("printing: %d signing key(s) preloaded", count)
    finally:
        connections.close_all()  # no connection is inherited by the pool processes


@worker_process_init.connect
def _warm_up_pool_process(sender=None, **kwargs):
    """Render and sign one throwaway certificate in each new pool process (printing.services.
    certificate_warm_up): its first real certificate then costs what the others do. Needs
    CELERY_WORKER_PROC_ALIVE_TIMEOUT above the few seconds a cold render takes on a busy machine. Off
    with PRINTING_WARM_UP = False (the integration tests' workers)."""
    from django.conf import settings

    from .services import certificate_warm_up

    if not getattr(settings, "PRINTING_WARM_UP", True):
        return

    try:
        seconds = certificate_warm_up()
    except Exception:  # noqa: BLE001 - a failed warm-up costs only the first task's time; logged
        logger.warning("printing: warm-up of pool process %s failed", os.getpid(), exc_info=True)
    else:
        logger.info("printing: pool process %s warmed up in %.1f s", os.getpid(), seconds)


def _actor(actor_id):
    if actor_id is None:
        return SYSTEM_ACTOR
    user = get_user_model().objects.filter(pk=actor_id).first()
    if user is None:
        raise E.NotFound(E.MSG_NOT_FOUND)
    return Actor(user=user)


def _existing_certificate(application_id: int):
    from .models import Certificate

    return Certificate.objects.filter(application_id=application_id).only("pk", "number").first()


@shared_task(acks_late=True)
def issue_certificate_task(application_id: int, actor_id: int | None = None,
                           effect_id: int | None = None) -> str | None:
    """The flow's issue step: reserve the certificate (once), certify, and write the render effect.

    ``actor_id`` is the officer who asked for it (bulk issue); without it the system issues, as after
    the public notice. Returns the certificate number, or None when the application cannot be issued.
    """
    def work():
        certificate = _existing_certificate(application_id)
        if certificate is not None:
            return Outcome(certificate.number, "issued already")
        try:
            certificate = application_issue_certificate(actor=_actor(actor_id), application_id=application_id)
        except (E.NotFound, E.NotAllowed, E.WrongState) as exc:
            # A concurrent run may have issued it between the check above and the lock.
            certificate = _existing_certificate(application_id)
            if certificate is None:
                logger.warning("Certificate for application %s not issued: %s", application_id, exc.message)
                return Outcome(None, f"not issued: {exc.message}")
            return Outcome(certificate.number, "issued already")
        test_pause("issue", application_id)
        return certificate.number

    # The PDF and the notification that the issue writes are run by this task after the issue commits
    # (approvals.outbox.effects_run_here), not handed to the broker: one task per certificate, not three.
    with effects_run_here(INLINE_AFTER_ISSUE):
        result = effect_run(effect_id, work)
    return result if isinstance(result, str) else None


@shared_task(acks_late=True)
def render_certificate_task(certificate_id: int, effect_id: int | None = None) -> str | None:
    """Render and store the issued certificate's PDF (once); returns its SHA-256, or None if there is none
    to make (revoked or expired before it was rendered, or a name the print faces cannot draw)."""
    from .render import MissingGlyphs
    from .services import certificate_render_and_store

    def work():
        try:
            certificate = certificate_render_and_store(certificate_id=certificate_id)
        except MissingGlyphs as exc:
            # A retry draws the same box; the name must be corrected first (input refuses such characters,
            # so this is a name that came in another way). Noted on the effect, not retried.
            logger.error("Certificate %s not rendered: %s", certificate_id, exc)
            return Outcome(None, f"not rendered: {exc}")
        test_pause("render", certificate_id)
        if not certificate.pdf_sha256:
            return Outcome(None, f"no PDF made: the certificate is {certificate.status}")
        return certificate.pdf_sha256

    # Not in the effect's transaction: the render and the signature would hold it (on SQLite the only
    # writer's lock) for their whole duration. Storing is safe to repeat on its own (see the service).
    result = effect_run(effect_id, work, atomic=False)
    return result if isinstance(result, str) else None


@shared_task(acks_late=True)
def render_form_task(application_id: int, revision: int | None = None, province_copy: bool = False,
                     masked: bool = False, effect_id: int | None = None) -> str | None:
    """Render a large 申报书 and store it for the print view (printing.services.form_render_and_store);
    returns its digest. Rendering twice stores the same file once."""
    from .documents import RevisionNotFound
    from .render import MissingGlyphs
    from .services import form_render_and_store

    def work():
        try:
            return form_render_and_store(application_id=application_id, revision=revision,
                                         province_copy=province_copy, masked=masked)
        except (Application.DoesNotExist, RevisionNotFound, MissingGlyphs) as exc:
            logger.error("申报书 of application %s not rendered: %r", application_id, exc)
            return Outcome(None, f"not rendered: {exc!r}")

    result = effect_run(effect_id, work, atomic=False)
    return result if isinstance(result, str) else None
