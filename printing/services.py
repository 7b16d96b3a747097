"""Writes of certificates: reserving a gap-free number, changing status, storing the rendered PDF."""
import calendar
import datetime as dt
import secrets

from django.db import transaction
from django.utils import timezone

from .models import Certificate, CertificateSequence, CertificateStatus
from .numbering import certificate_number


def _add_years(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def awardee_name(application) -> str:
    title = application.program.certificate_title or application.program.name_zh
    return f"{application.subject_name}{title}" if not application.subject_name.endswith(title) else application.subject_name


def certificate_reserve(*, application) -> Certificate:
    """Take the next number of (province, program, year) and create the certificate row, in the caller's
    transaction: if it rolls back, the number is given back, so numbers stay gap-free."""
    assert transaction.get_connection().in_atomic_block
    existing = Certificate.objects.filter(application=application).first()
    if existing:
        return existing
    year = application.batch.year
    CertificateSequence.objects.get_or_create(
        province_id=application.province_id, program_id=application.program_id, year=year
    )
    sequence = CertificateSequence.objects.select_for_update().get(
        province_id=application.province_id, program_id=application.program_id, year=year
    )
    sequence.last += 1
    sequence.save(update_fields=["last"])
    province_code = application.province.division_id or ""
    issued = timezone.localdate()
    return Certificate.objects.create(
        application=application,
        sequence=sequence,
        seq=sequence.last,
        number=certificate_number(
            pattern=application.program.certificate_number_format, province_code=province_code, year=year,
            seq=sequence.last,
        ),
        awardee_name=awardee_name(application),
        valid_from=issued,
        valid_until=_add_years(issued, application.batch.effective_validity_years) - dt.timedelta(days=1),
        issued_on=issued,
        token=secrets.token_urlsafe(32),
    )


def certificate_set_status(*, application, status: str) -> None:
    Certificate.objects.filter(application=application).update(
        status=CertificateStatus(status), status_changed_at=timezone.now()
    )
