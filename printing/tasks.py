"""Celery tasks of printing: they take ids, call services, and are safe to run twice.

``issue_certificate_task`` is queued on commit by ``application_approve`` (the flow) and by the bulk issue
of a batch. Exactly once is held by the database, not by Celery: the certificate is a unique one-to-one
row reserved in the same transaction as its gap-free number, and the PDF is recorded by a conditional
update (see ``printing.services.certificate_render_and_store``). A redelivered or repeated task finds
the certificate and only renders what is missing. Transient failures (a locked row, a lost database
connection, a render error) are retried with exponential backoff; refusals that a retry cannot change
(the application is gone, not approved, or the person may not issue) are logged and not retried.
"""
import logging

from celery import shared_task
from celery.signals import worker_init

logger = logging.getLogger(__name__)


@worker_init.connect
def _prepare_print_fonts(sender=None, **kwargs):
    """Build the reduced print fonts once in the worker's main process, before the pool forks: every child
    inherits them (copy-on-write) instead of spending seconds of HarfBuzz subsetting on its first render.
    Only ctypes and HarfBuzz run here; WeasyPrint is still imported by the children, inside the tasks."""
    from .render import get_print_fonts

    get_print_fonts()


def _actor(actor_id):
    from django.contrib.auth import get_user_model

    from approvals import errors as E
    from approvals.services import SYSTEM_ACTOR, Actor

    if actor_id is None:
        return SYSTEM_ACTOR
    user = get_user_model().objects.filter(pk=actor_id).first()
    if user is None:
        raise E.NotFound(E.MSG_NOT_FOUND)
    return Actor(user=user)


def _existing_certificate(application_id: int):
    from .models import Certificate

    return Certificate.objects.filter(application_id=application_id).only("pk", "number").first()


@shared_task(
    bind=True, autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=300, retry_jitter=True,
    max_retries=8, acks_late=True,
)
def issue_certificate_task(self, application_id: int, actor_id: int | None = None) -> str | None:
    """The flow's issue step: reserve the certificate (once), then render and store its PDF (once).

    ``actor_id`` is the officer who asked for it (bulk issue); without it the system issues, as after
    the public notice. Returns the certificate number, or None when the application cannot be issued.
    """
    from approvals import errors as E
    from approvals.services import application_issue_certificate

    from .render import MissingGlyphs
    from .services import certificate_render_and_store

    certificate = _existing_certificate(application_id)
    if certificate is None:
        try:
            certificate = application_issue_certificate(actor=_actor(actor_id), application_id=application_id)
        except (E.NotFound, E.NotAllowed, E.WrongState) as exc:
            # A concurrent run may have issued it between the check above and the lock.
            certificate = _existing_certificate(application_id)
            if certificate is None:
                logger.warning("Certificate for application %s not issued: %s", application_id, exc.message)
                return None
    try:
        certificate_render_and_store(certificate_id=certificate.pk)
    except MissingGlyphs as exc:
        # A retry draws the same box; the name must be corrected first (input refuses such characters,
        # so this is a name that came in another way).
        logger.error("Certificate %s not rendered: %s", certificate.number, exc)
        return None
    return certificate.number
