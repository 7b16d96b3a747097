"""Every write to a designation. They run inside the transaction of the application's action that causes
them (approvals.services: issuing the certificate, revoking, expiring), after that action has locked the
application, moved its FSM and appended its audit event; so the designation changes exactly when the
application does, and the application's audit chain is the designation's history."""
from django.db import transaction
from django.utils import timezone

from approvals.models import Application, AuditEvent
from printing.models import Certificate

from .models import DS, IN_FORCE, Designation


def designation_record(*, application: Application, certificate: Certificate, fresh: bool = False) -> Designation:
    """The designation of a certificate just issued (or already issued: it is returned as it is). `fresh`:
    the certificate was created in this transaction, so it has none yet (one query less)."""
    existing = None if fresh else Designation.objects.filter(certificate=certificate).first()
    if existing is not None:
        return existing
    designation = Designation(**designation_fields(application, certificate))
    designation.save()
    return designation


def designation_fields(application: Application, certificate: Certificate) -> dict:
    """What a designation copies from its application and certificate."""
    sponsor = application.form_data.get("sponsor_society") if isinstance(application.form_data, dict) else ""
    return {
        "application_id": application.pk,
        "certificate_id": certificate.pk,
        "program_id": application.program_id,
        "awardee_name": certificate.awardee_name,
        "host_name": application.subject_name,
        "sponsor_society": str(sponsor or "")[:200],
        "applicant_id": application.applicant_id,
        "applicant_path": application.applicant_path,
        "city_id": application.city_id,
        "province_id": application.province_id,
        "division_id": application.division_id,
        "valid_from": certificate.valid_from,
        "valid_until": certificate.valid_until,
    }


def _locked(application_id: int) -> Designation | None:
    """The application's designation in force (a renewed one, 已续期, has been followed by another)."""
    return (Designation.objects.select_for_update().filter(application_id=application_id, status__in=IN_FORCE)
            .order_by("-pk").first())


def _change(designation: Designation, transition, *, reason: str = "") -> None:
    transition()
    designation.status_changed_at = timezone.now()
    designation.status_reason = reason
    designation.save(update_fields=["status", "status_changed_at", "status_reason"])


def designation_revoke(*, application_id: int, reason: str) -> None:
    """The application's certificate is revoked (摘牌): the designation is 已撤销, with the reason given."""
    designation = _locked(application_id)
    if designation is not None:
        _change(designation, designation.revoke, reason=reason)


def designation_expire(*, application_id: int) -> None:
    """The certificate's validity has run out: the designation is 已到期."""
    designation = _locked(application_id)
    if designation is not None:
        _change(designation, designation.expire)


# What an application's status says of its designation, for certificates issued before designations.
_BACKFILL_STATUS = {"certified": DS.VALID, "revoked": DS.REVOKED, "expired": DS.EXPIRED}


def designations_backfill() -> int:
    """Create the missing designation of every issued certificate, with the status its application has
    (a revocation's reason and date from its audit event). Returns how many were created."""
    created = 0
    missing = (Certificate.objects.filter(designation__isnull=True)
               .select_related("issued_for").order_by("pk"))
    for certificate in missing.iterator(chunk_size=500):
        application = certificate.issued_for
        status = _BACKFILL_STATUS.get(application.status)
        if status is None:
            continue
        fields = designation_fields(application, certificate)
        if status != DS.VALID:
            event = (AuditEvent.objects.filter(application=application, to_status=application.status)
                     .order_by("-seq").first())
            fields.update(status_changed_at=event.created_at if event else certificate.status_changed_at,
                          status_reason=event.comment if event and status == DS.REVOKED else "")
        with transaction.atomic():
            _, was_created = Designation.objects.get_or_create(certificate=certificate, defaults={
                **{k: v for k, v in fields.items() if k != "certificate_id"}, "status": status})
        created += was_created
    return created

