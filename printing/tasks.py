"""Celery tasks of printing: they take ids, call services, and are safe to run twice."""
from celery import shared_task


@shared_task(
    bind=True, autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=300, retry_jitter=True,
    max_retries=8, acks_late=True,
)
def issue_certificate_task(self, application_id: int) -> str:
    """The flow's issue step: reserve the certificate (once), then render and store its PDF (once)."""
    from approvals.services import SYSTEM_ACTOR, application_issue_certificate

    certificate = application_issue_certificate(actor=SYSTEM_ACTOR, application_id=application_id)
    return certificate.number
