"""Writes of certificates: reserving a gap-free number, changing status, storing the rendered and signed
PDF; the 发文字号 of letters and notices."""
import calendar
import datetime as dt
import hashlib
import logging
import os
import secrets
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from approvals.models import Application
from approvals.outbox import effect_done_with

from . import wording
from .models import Certificate, CertificateSequence, CertificateStatus, DocumentSequence, IssuedDocument
from .numbering import certificate_number

logger = logging.getLogger(__name__)


def _add_years(day: dt.date, years: int) -> dt.date:
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def awardee_name(application) -> str:
    return wording.awardee_name(application.program, application.subject_name, application.division.name)


def certificate_reserve(*, application, known_new: bool = False) -> Certificate:
    """Take the next number of (province, program, year) and create the certificate row, in the caller's
    transaction: if it rolls back, the number is given back, so numbers stay gap-free. An application's
    certificate already there is returned; `known_new`: the caller knows there is none (the application is
    locked and still approved), so it is not looked for (the one-to-one row would refuse a second)."""
    assert transaction.get_connection().in_atomic_block
    existing = None if known_new else Certificate.objects.filter(application=application).first()
    if existing:
        return existing
    year = application.batch.year
    seq_id, seq = _sequence_next(province_id=application.province_id, program_id=application.program_id, year=year)
    # The subject's division lies in the province, so its first two digits are the province's code.
    province_code = application.division_id[:2] + "0000"
    issued = timezone.localdate()
    certificate = Certificate.objects.create(
        application=application,
        issued_for=application,
        sequence_id=seq_id,
        seq=seq,
        number=certificate_number(
            pattern=application.program.certificate_number_format, province_code=province_code, year=year,
            seq=seq,
        ),
        awardee_name=awardee_name(application),
        valid_from=issued,
        valid_until=_add_years(issued, application.batch.effective_validity_years) - dt.timedelta(days=1),
        issued_on=issued,
        token=secrets.token_urlsafe(32),
    )
    certificate.reserved_now = True
    return certificate


def _sequence_next(*, province_id: int, program_id: int, year: int) -> tuple[int, int]:
    """Take the next number of (province, program, year) in one statement: the year's row is created with
    1, or its `last` is raised by one (INSERT … ON CONFLICT DO UPDATE … RETURNING, PostgreSQL and SQLite
    >= 3.35). The row stays locked until the caller's transaction ends, so numbers are gap-free."""
    ops = connection.ops
    table = ops.quote_name(CertificateSequence._meta.db_table)
    province, program, year_c, last = (
        ops.quote_name(CertificateSequence._meta.get_field(n).column) for n in ("province", "program", "year", "last"))
    pk = ops.quote_name(CertificateSequence._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({province}, {program}, {year_c}, {last}) VALUES (%s, %s, %s, 1) "
            f"ON CONFLICT ({province}, {program}, {year_c}) DO UPDATE SET {last} = {table}.{last} + 1 "
            f"RETURNING {pk}, {last}",
            [province_id, program_id, year],
        )
        return tuple(cursor.fetchone())


def certificate_renew(*, certificate_id: int, validity_years: int) -> Certificate:
    """The renewed certificate (复核/续期) of a certificate in force, in the caller's transaction: a new number
    from this year's gap-free sequence, validity from the day after the old one's last day for
    `validity_years`; the old certificate is 已续期, links to the new one and is no longer the
    application's (it keeps `issued_for`). The PDF is rendered by a worker (the caller's outbox effect)."""
    assert transaction.get_connection().in_atomic_block
    old = Certificate.objects.select_for_update().select_related("issued_for__program").get(pk=certificate_id)
    application = old.issued_for
    issued = timezone.localdate()
    seq_id, seq = _sequence_next(province_id=application.province_id, program_id=application.program_id,
                              year=issued.year)
    valid_from = max(old.valid_until + dt.timedelta(days=1), issued)
    old.application = None
    old.status = CertificateStatus.RENEWED
    old.status_changed_at = timezone.now()
    old.save(update_fields=["application", "status", "status_changed_at"])
    new = Certificate.objects.create(
        application=application, issued_for=application, sequence_id=seq_id, seq=seq,
        number=certificate_number(pattern=application.program.certificate_number_format,
                                  province_code=application.division_id[:2] + "0000", year=issued.year, seq=seq),
        awardee_name=old.awardee_name, valid_from=valid_from,
        valid_until=_add_years(valid_from, validity_years) - dt.timedelta(days=1), issued_on=issued,
        token=secrets.token_urlsafe(32),
    )
    old.renewed_by = new
    old.save(update_fields=["renewed_by"])
    return new


def certificate_set_status(*, application, status: str) -> None:
    Certificate.objects.filter(application=application).update(
        status=CertificateStatus(status), status_changed_at=timezone.now()
    )


# --------------------------------------------------------------------------------- the issued PDF
#
# The PDF of a certificate is rendered once, after the reservation has committed, and kept under
# PRIVATE_STORAGE_ROOT/certificates/<token>.pdf. Rendering is deterministic (same row, same bytes), so a
# render repeated after a crash produces the file the first one would have. Order of writes: the bytes
# go to a temporary file in the same folder, are flushed to disk, renamed over the final name, and only
# then is the SHA-256 recorded by a conditional UPDATE (only where nothing was recorded yet), under the
# certificate's row lock. So the database never names a file that is not on disk, a second worker that
# loses the race changes nothing, and a worker killed at any point leaves at worst a stray temporary
# file (removed by the next attempt) or a file without a recorded hash (overwritten by the next attempt).

CERTIFICATE_FOLDER = "certificates"


def certificate_pdf_path(certificate: Certificate) -> Path:
    """Where the issued PDF of ``certificate`` is kept (outside anything served directly)."""
    if not certificate.token or "/" in certificate.token or certificate.token.startswith("."):
        raise ValueError("certificate without a usable token")
    return Path(settings.PRIVATE_STORAGE_ROOT) / CERTIFICATE_FOLDER / f"{certificate.token}.pdf"


def certificate_verify_url(certificate: Certificate) -> str:
    """The absolute public verification URL printed as the certificate's QR code."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return base + reverse("printing:verify", args=[certificate.token])


def certificate_effective_status(certificate: Certificate, *, today: dt.date | None = None) -> str:
    """The status a visitor is shown: revoked and expired as recorded, and expired as soon as the validity
    has run out even if the nightly expiry has not recorded it yet."""
    if certificate.status == CertificateStatus.REVOKED:
        return CertificateStatus.REVOKED
    if certificate.status == CertificateStatus.RENEWED:
        return CertificateStatus.RENEWED
    if certificate.status == CertificateStatus.EXPIRED:
        return CertificateStatus.EXPIRED
    if certificate.valid_until < (today or timezone.localdate()):
        return CertificateStatus.EXPIRED
    return CertificateStatus.VALID


def certificate_context(certificate: Certificate) -> dict:
    """The template context of printing/certificate.html for ``certificate``."""
    from .qr import qr_png_data_uri

    application = certificate.issued_for
    program = application.program
    verify_url = certificate_verify_url(certificate)
    division_name = application.division.name
    return {
        "number": certificate.number,
        "awardee_name": certificate.awardee_name,
        "program_name": wording.certificate_title(program, division_name),
        "addressee": wording.addressee(program, division_name),
        # A city designated itself was not recommended by anyone: the sentence then names only the issuer.
        "recommending_org": application.city.name if wording.city_recommends(program) else "",
        "valid_from": certificate.valid_from,
        "valid_until": certificate.valid_until,
        "issuing_org": application.province.name,
        "issue_date": certificate.issued_on,
        "verify_url": verify_url,
        "qr_data_uri": qr_png_data_uri(verify_url),
        "status": certificate.status,
        "renews_number": _renews_number(certificate),
    }


def _renews_number(certificate: Certificate) -> str:
    """The number of the certificate a renewed one follows ("" for a first certificate)."""
    if certificate.pk is None:
        return ""
    try:
        return certificate.renews.number  # select_related("renews") by the renderer: no extra query
    except Certificate.DoesNotExist:
        return ""


def _load(certificate_id: int) -> Certificate:
    return Certificate.objects.select_related(
        "issued_for__program", "issued_for__city", "issued_for__province", "issued_for__division",
        "issued_for__province__division", "renews"
    ).get(pk=certificate_id)


def _write_temp(folder: Path, pdf: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".render-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pdf)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def certificate_render_and_store(*, certificate_id: int) -> Certificate:
    """Render and store the PDF of a valid certificate once; return the certificate as it now stands.

    Does nothing for a certificate whose PDF is already recorded, or that is revoked or expired (the
    verification page shows the status from the database; an issued file is never replaced).

    The render and the signature run outside any transaction (call it outside one): only the rename and
    the conditional update hold the certificate's row lock, so on SQLite (IMMEDIATE transactions, one
    writer at a time) two workers render in parallel and queue only for that short step. A second run at
    the same time renders too, in vain: under the lock it finds the hash recorded and changes nothing.
    """
    from . import signing
    from .render import render_template_document

    certificate = _load(certificate_id)
    if certificate.pdf_sha256 or certificate.status != CertificateStatus.VALID:
        return certificate
    # Rendered as issued (valid); the status stamp only ever appears on copies printed later.
    rendered = render_template_document("printing/certificate.html", {**certificate_context(certificate),
                                                                      "status": CertificateStatus.VALID})
    signed_by, signed_at = "", None
    try:
        signed = signing.sign_pdf(rendered.pdf, organization=certificate.issued_for.province,
                                  seal=rendered.seal_areas[0] if rendered.seal_areas else None,
                                  reason=f"授牌证书 {certificate.number}")
        pdf, signed_by, signed_at = signed.pdf, signed.signer, signed.signed_at
    except signing.NoSigningKey:
        logger.warning("Province %s has no signing key: certificate %s is issued unsigned",
                       certificate.issued_for.province_id, certificate.number)
        pdf = rendered.pdf
    digest = hashlib.sha256(pdf).hexdigest()
    final = certificate_pdf_path(certificate)
    temp = _write_temp(final.parent, pdf)
    try:
        with transaction.atomic():
            locked = Certificate.objects.select_for_update().get(pk=certificate_id)
            if locked.pdf_sha256 or locked.status != CertificateStatus.VALID:
                return locked  # another worker finished first, or it was revoked meanwhile
            os.replace(temp, final)
            _fsync_folder(final.parent)
            recorded = {"pdf_sha256": digest, "pdf_size": len(pdf), "rendered_at": timezone.now(),
                        "signed_by": signed_by, "signed_at": signed_at}
            Certificate.objects.filter(pk=certificate_id, pdf_sha256="").update(**recorded)
            effect_done_with()  # the render effect (if this runs as one) is done in the same commit
    finally:
        temp.unlink(missing_ok=True)
    # What the update wrote, on the row loaded above (the lock showed nothing else had changed it).
    for name, value in recorded.items():
        setattr(certificate, name, value)
    return certificate


def certificate_warm_up() -> float:
    """Render and sign one throwaway certificate (fixed text, signed with a key made for it and forgotten;
    nothing is queried or stored), so that a worker's pool process has WeasyPrint, the print fonts, the
    template and pyHanko loaded before its first real certificate. Returns the seconds it took."""
    from . import signing
    from .qr import qr_png_data_uri
    from .render import render_template_document

    start = time.perf_counter()
    today = timezone.localdate()
    verify_url = "https://warm-up.invalid/verify/warm-up/"
    rendered = render_template_document("printing/certificate.html", {
        "number": "科协证〔0000〕第0000号", "awardee_name": "预热单位（不发出）", "program_name": "学会服务站",
        "addressee": "你单位", "recommending_org": "某市科学技术协会", "valid_from": today, "valid_until": today,
        "issuing_org": "某省科学技术协会", "issue_date": today, "verify_url": verify_url,
        "qr_data_uri": qr_png_data_uri(verify_url), "status": CertificateStatus.VALID, "renews_number": "",
    })
    signing.sign_throwaway(rendered.pdf, rendered.seal_areas[0] if rendered.seal_areas else None)
    return time.perf_counter() - start


def certificate_pdf_bytes(certificate: Certificate) -> bytes | None:
    """The stored PDF if it is on disk and still has the recorded SHA-256, else None."""
    if not certificate.pdf_sha256:
        return None
    try:
        pdf = certificate_pdf_path(certificate).read_bytes()
    except FileNotFoundError:
        return None
    return pdf if hashlib.sha256(pdf).hexdigest() == certificate.pdf_sha256 else None


def certificate_restore_pdf(*, certificate_id: int) -> bytes | None:
    """Put back a lost or damaged stored PDF: render it again and keep it only if it is byte for byte
    the issued one (the recorded SHA-256). Returns the PDF, or None if it cannot be reproduced."""
    from .render import render_pdf

    certificate = _load(certificate_id)
    # A signature holds its signing time and a random document id: a signed file cannot be made again
    # byte for byte, so only its stored copy (and the storage's backups) can bring it back.
    if not certificate.pdf_sha256 or certificate.signed_at is not None:
        return None
    pdf = render_pdf("printing/certificate.html", {**certificate_context(certificate),
                                                   "status": CertificateStatus.VALID})
    if hashlib.sha256(pdf).hexdigest() != certificate.pdf_sha256:
        return None
    final = certificate_pdf_path(certificate)
    temp = _write_temp(final.parent, pdf)
    try:
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    return pdf


# ------------------------------------------------------------------------- letters and notices


def document_prefix(organization) -> str:
    """The 发文字号 prefix: the profile's, else the province's abbreviation or the division's first
    character followed by 科协函 (皖科协函, 滁科协函)."""
    from .numbering import PROVINCE_ABBREVIATIONS

    profile = getattr(organization, "print_profile", None) if organization.pk else None
    if profile is not None and profile.document_prefix:
        return profile.document_prefix
    code = organization.division_id or ""
    if code.endswith("0000"):
        short = PROVINCE_ABBREVIATIONS.get(code[:2], "")
    else:
        short = (organization.division.name[:1] if organization.division_id else organization.name[:1])
    return f"{short}科协函"


def document_issue(*, organization, kind: str, batch) -> IssuedDocument:
    """The 发文字号 and 成文日期 of ``organization``'s ``kind`` document for ``batch``: taken from the
    organization's gap-free sequence of the year at the first print, the same on every print after."""
    existing = IssuedDocument.objects.filter(organization=organization, kind=kind, batch=batch).first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    with transaction.atomic():
        key = {"organization": organization, "year": today.year}
        DocumentSequence.objects.get_or_create(**key)
        sequence = DocumentSequence.objects.select_for_update().get(**key)
        existing = IssuedDocument.objects.filter(organization=organization, kind=kind, batch=batch).first()
        if existing is not None:  # issued by a concurrent request while this one waited for the lock
            return existing
        sequence.last += 1
        sequence.save(update_fields=["last"])
        return IssuedDocument.objects.create(
            organization=organization, kind=kind, batch=batch, year=today.year, seq=sequence.last,
            number=f"{document_prefix(organization)}〔{today.year}〕{sequence.last}号", dated=today,
        )


# ---------------------------------------------------------------------------- 申报书 in the worker

# PRIVATE_STORAGE_ROOT/forms/<digest>.pdf: a large 申报书 rendered by the worker (render_form_task),
# served by the print view after its own scope checks; the digest is that of the document's HTML.
FORM_FOLDER = "forms"


def stored_form_path(digest: str) -> Path:
    """Where the worker keeps a rendered 申报书 (private storage, named by its digest)."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError("not a form digest")
    return Path(settings.PRIVATE_STORAGE_ROOT) / FORM_FOLDER / f"{digest}.pdf"


def stored_form(digest: str) -> bytes | None:
    path = stored_form_path(digest)
    return path.read_bytes() if path.is_file() else None


# A stored 申报书 is kept this long (it is printed again from the data whenever it is gone).
STORED_FORM_DAYS = 7


def form_render_and_store(*, application_id: int, revision: int | None, province_copy: bool,
                          masked: bool = False) -> str:
    """Render a 申报书 in the worker and store it under its digest (atomically); returns the digest.
    Stored forms older than STORED_FORM_DAYS are removed on the way."""
    from . import documents

    application = Application.objects.select_related("program", "batch", "applicant", "city", "province").get(
        pk=application_id)
    document = documents.application_form_document(application, revision, province_copy=province_copy,
                                                   masked=masked)
    path = stored_form_path(document.digest)
    if not path.is_file():
        pdf = document.pdf()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(_write_temp(path.parent, pdf), path)
    cutoff = time.time() - STORED_FORM_DAYS * 86400
    for old in path.parent.glob("*.pdf"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    return document.digest
