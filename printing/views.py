"""Printing pages: public certificate verification and notice list, scoped downloads of certificates and
documents, and the bulk issue of a batch.

Public (no login, never cached, so a revocation shows on the very next request):
    /verify/<token>/            a certificate by the token in its QR code; POST a PDF to compare SHA-256
    /verify/?number=<number>    the same by certificate number
    /notice/<batch_id>/         the batch's public notice list
Logged in, 404 outside the user's scope (the organization tree, as for applications):
    /certificates/<pk>/pdf                                   the issued certificate PDF
    /print/applications/<pk>/form.pdf?revision=N             申报书 of revision N
        &copy=province                                       the province's copy, with the experts' scores
                                                             (403 to whoever does not see every score);
                                                             a large one is rendered by the worker (202 and
                                                             a page that reloads until the PDF is stored)
    /print/batches/<id>/recommendation.pdf?city=<org id>     推荐函 of a city
    /print/batches/<id>/summary.pdf?city= , summary.xlsx?city=   推荐汇总表
    /print/batches/<id>/notice.pdf                           公示名单
    /print/batches/<id>/issue-all                            bulk issue (provincial officer), progress page
"""
from __future__ import annotations

import hashlib
import hmac
import logging

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from approvals import access
from approvals.models import Application, Batch, Effect, Status
from approvals.outbox import effect_add, effects_add
from approvals.params import query_id
from approvals.selectors import application_get
from orgs.access import principal_of
from orgs.models import Level, Organization
from security.exports import export_purpose, export_record
from security.models import Kind
from security.services import security_record

from . import documents, signing
from .models import Certificate, CertificateStatus, IssueRun
from .services import (
    certificate_effective_status,
    certificate_pdf_bytes,
    certificate_render_and_store,
    certificate_restore_pdf,
    stored_form,
)

logger = logging.getLogger(__name__)

VERIFY_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
# Room for the multipart envelope and the CSRF field around a file of the maximum size.
_MULTIPART_SLACK = 64 * 1024

# ------------------------------------------------------------------------------------------ helpers


def _pdf_response(pdf: bytes, filename: str, *, download: bool = False) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(download, filename)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _batch_in_scope(request, batch_id: int) -> Batch:
    batch = get_object_or_404(Batch.objects.select_related("province", "program"), pk=batch_id)
    if not access.may_see_batch(principal_of(request.user), batch):
        raise Http404(_("批次不存在或不在您的权限范围内"))
    return batch


def _city_in_scope(request, batch: Batch) -> Organization:
    """The city of ``?city=<org id>`` (default: the user's own city in this province), if the user may see
    its documents (approvals.access: the city's staff and those above it)."""
    principal = principal_of(request.user)
    cities = Organization.objects.filter(level=Level.CITY, path__startswith=batch.province.path)
    raw = request.GET.get("city", "").strip()
    if raw:
        if query_id(raw) is None:
            raise Http404(_("参数 city 应为市级科协的编号"))
        city = cities.filter(pk=query_id(raw)).first()
    else:
        own = [seat.organization_id for seat in principal.seats if seat.level == Level.CITY]
        found = list(cities.filter(pk__in=own)[:2])
        city = found[0] if len(found) == 1 else None
    if city is None or not access.may_see_city_documents(principal, city):
        raise Http404(_("市级科协不存在或不在您的权限范围内"))
    return city


def user_may_issue(user, batch: Batch) -> bool:
    return access.may_issue_certificates(principal_of(user), batch)


# ------------------------------------------------------------------------------- public: verification


def _certificate_for(token: str | None, number: str | None) -> Certificate | None:
    queryset = Certificate.objects.select_related("issued_for__program", "issued_for__province", "designation",
                                                  "renewed_by")
    if token is not None:
        return queryset.filter(token=token).first()
    if number:
        return queryset.filter(number=number).first()
    return None


def _verify_page(request, certificate, *, token, number, status=200, result="", message="", uploaded="",
                 signature=None):
    if certificate is None:
        return render(request, "printing/verify.html",
                      {"number": number or "", "not_found": bool(token or number)},
                      status=404 if (token or number) else 200)
    effective = certificate_effective_status(certificate)
    return render(request, "printing/verify.html", {
        "certificate": certificate,
        "status": effective,
        "status_label": CertificateStatus(effective).label,
        "program_name": certificate.issued_for.program.name_zh,
        "issuing_org": certificate.issued_for.province.name,
        "designation": getattr(certificate, "designation", None),
        "max_mb": VERIFY_UPLOAD_MAX_BYTES // (1024 * 1024),
        "result": result,
        "result_message": message,
        "uploaded_sha256": uploaded,
        "signature": signature,
    }, status=status)


@csrf_protect
def _verify_checked(request, token, number):
    certificate = _certificate_for(token, number)
    if request.method != "POST" or certificate is None:
        return _verify_page(request, certificate, token=token, number=number)
    upload = request.FILES.get("pdf")
    if upload is None:
        return _verify_page(request, certificate, token=token, number=number, status=400, result="error",
                            message="请选择要核对的 PDF 文件。")
    if upload.size > VERIFY_UPLOAD_MAX_BYTES:
        return _verify_page(request, certificate, token=token, number=number, status=413, result="error",
                            message=f"文件超过 {VERIFY_UPLOAD_MAX_BYTES // (1024 * 1024)} MB，无法核对。")
    if not certificate.pdf_sha256:
        return _verify_page(request, certificate, token=token, number=number, result="error",
                            message="证书文件尚在生成中，请稍后再核对。")
    data = b"".join(upload.chunks())
    uploaded = hashlib.sha256(data).hexdigest()
    signature = signing.validate_pdf(data)
    same = hmac.compare_digest(uploaded, certificate.pdf_sha256)
    result, message = verify_result(certificate_effective_status(certificate), same=same, signature=signature.state)
    return _verify_page(request, certificate, token=token, number=number, result=result, uploaded=uploaded,
                        message=message, signature=signature)


def verify_result(status: str, *, same: bool, signature: str) -> tuple[str, str]:
    """What the upload check tells a visitor. Only a valid certificate's unaltered file is "match" (green);
    a revoked certificate is "revoked" (red) and an expired one "expired" (amber) whatever the file, so
    that an intact file is never taken for a certificate in force."""
    if not same or signature == "invalid":
        return "mismatch", "不一致：该文件不是发证时登记的证书文件，或签名已被破坏，可能被改动或伪造。"
    if status == CertificateStatus.REVOKED:
        return "revoked", "该证书已被撤销，不再有效。文件本身未被改动，但不能作为有效证书使用。"
    if status == CertificateStatus.EXPIRED:
        return "expired", "该证书已过期，不再有效。文件本身未被改动。"
    return "match", "一致：该文件与发证时登记的证书文件完全相同，未被改动，证书现为有效状态。"


@never_cache
@csrf_exempt  # CSRF is checked by _verify_checked, after the size check, so an oversize body is never parsed
def verify(request, token: str | None = None):
    """Public verification by token (QR code) or by ``?number=``; a POSTed PDF is compared by SHA-256."""
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponseNotAllowed(["GET", "HEAD", "POST"])
    number = request.GET.get("number", "").strip()[:64] if token is None else None
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > VERIFY_UPLOAD_MAX_BYTES + _MULTIPART_SLACK:
            return _verify_page(request, _certificate_for(token, number), token=token, number=number, status=413,
                                result="error",
                                message=f"文件超过 {VERIFY_UPLOAD_MAX_BYTES // (1024 * 1024)} MB，无法核对。")
    return _verify_checked(request, token, number)


@never_cache
def notice_page(request, batch_id: int):
    """The public notice list of a batch (no login)."""
    batch = get_object_or_404(Batch.objects.select_related("province", "program"), pk=batch_id)
    return render(request, "printing/notice_page.html", documents.notice_context(batch))


# ------------------------------------------------------------------------------ logged in: downloads


@method_decorator(never_cache, name="dispatch")
class CertificatePdfView(LoginRequiredMixin, View):
    """The issued certificate PDF, for users who may see the application."""

    def get(self, request, pk: int):
        certificate = Certificate.objects.filter(pk=pk).first()
        if certificate is None or application_get(user=request.user, pk=certificate.issued_for_id) is None:
            raise Http404("证书不存在或不在您的权限范围内")
        pdf = certificate_pdf_bytes(certificate)
        if pdf is None and not certificate.pdf_sha256 and certificate.status == CertificateStatus.VALID:
            # Issued by hand or still queued: render it now (the same idempotent step the task runs).
            certificate = certificate_render_and_store(certificate_id=certificate.pk)
            pdf = certificate_pdf_bytes(certificate)
        elif pdf is None and certificate.pdf_sha256:
            logger.error("Stored PDF of certificate %s is missing or altered; restoring it", certificate.number)
            pdf = certificate_restore_pdf(certificate_id=certificate.pk)
        if pdf is None:
            raise Http404("证书文件不可用")
        _export_record(request, f"{certificate.number}.pdf", document="certificate", certificate=certificate.pk)
        return _pdf_response(pdf, f"{certificate.number}.pdf", download=True)


@method_decorator(never_cache, name="dispatch")
class ApplicationFormPdfView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        application = application_get(user=request.user, pk=pk)
        if application is None:
            raise Http404("申报不存在或不在您的权限范围内")
        raw = request.GET.get("revision", "").strip()
        if raw and query_id(raw) is None:
            raise Http404("版本号无效")
        copy = request.GET.get("copy", "").strip()
        if copy not in ("", "province"):
            raise Http404(_("参数 copy 只能为 province（省级科协存档联）"))
        province_copy = copy == "province"
        if province_copy and not access.may_see_province_copy(principal_of(request.user), application):
            raise PermissionDenied(_("省级科协存档联载有专家评分，仅省级科协审核人和负责人可以打印"))
        revision = int(raw) if raw else application.revision
        masked = not access.personal_data_in_full(principal_of(request.user), application)
        try:
            document = documents.application_form_document(application, revision, province_copy=province_copy,
                                                           masked=masked)
        except documents.RevisionNotFound:
            raise Http404("该版本不存在") from None
        filename = f"申报书-{application.subject_name}-第{revision}版{'-省级存档联' if province_copy else ''}.pdf"
        _export_record(request, filename, document="application_form", application=application.pk,
                       revision=revision, masked=masked)
        stored = stored_form(document.digest)
        if stored is not None:
            return _pdf_response(stored, filename)
        if not document.large:
            return _pdf_response(document.pdf(), filename)
        return _form_in_worker(request, application, document, revision, province_copy, masked)


def _export_record(request, filename: str, **detail):
    """A download of a document that holds personal data goes to the security log: who, what, when, from
    where (security.services), and whether its personal data was masked."""
    security_record(Kind.EXPORT, request=request, target=filename, detail=detail)


def _form_in_worker(request, application, document, revision: int, province_copy: bool, masked: bool):
    """A large 申报书 is rendered by the worker: queue it once (an effect keyed by the document's digest)
    and answer 202 with a page that reloads itself until the stored PDF is there."""
    effects = Effect.objects.filter(kind="form_render", key=document.digest)
    failed = effects.filter(Q(failed_at__isnull=False) | Q(done_at__isnull=False, note__startswith="not rendered"))
    if failed.exists():
        return render(request, "printing/form_progress.html", {"application": application, "failed": True},
                      status=503)
    with transaction.atomic():
        effect_add(kind="form_render", key=document.digest, args=[application.pk, revision, province_copy, masked])
    response = render(request, "printing/form_progress.html",
                      {"application": application, "weight": document.weight}, status=202)
    response["Retry-After"] = "3"
    return response


@method_decorator(never_cache, name="dispatch")
class RecommendationLetterPdfView(LoginRequiredMixin, View):
    def get(self, request, batch_id: int):
        batch = _batch_in_scope(request, batch_id)
        city = _city_in_scope(request, batch)
        filename = f"推荐函-{city.name}-{batch.name}.pdf"
        _export_record(request, filename, document="recommendation_letter", batch=batch.pk, city=city.pk)
        return _pdf_response(documents.recommendation_letter_pdf(batch, city), filename)


@method_decorator(never_cache, name="dispatch")
class SummaryPdfView(LoginRequiredMixin, View):
    def get(self, request, batch_id: int):
        batch = _batch_in_scope(request, batch_id)
        city = _city_in_scope(request, batch)
        principal = principal_of(request.user)
        filename = f"推荐汇总表-{city.name}-{batch.name}.pdf"
        _export_record(request, filename, document="summary_pdf", batch=batch.pk, city=city.pk)
        return _pdf_response(documents.summary_pdf(
            batch, city, lambda application: access.personal_data_in_full(principal, application)), filename)


@method_decorator(never_cache, name="dispatch")
class SummaryXlsxView(LoginRequiredMixin, View):
    ask_purpose = True  # the API's route sets False: a missing purpose is then its 400 (security.exports)

    def get(self, request, batch_id: int):
        batch = _batch_in_scope(request, batch_id)
        city = _city_in_scope(request, batch)
        purpose, asking = export_purpose(request, ask=self.ask_purpose)
        if asking is not None:
            return asking
        principal = principal_of(request.user)
        content = documents.summary_xlsx(
            batch, city, lambda application: access.personal_data_in_full(principal, application))
        filename = f"推荐汇总表-{city.name}-{batch.name}.xlsx"
        # The summary names each applicant's contact: its download goes to the security log, with its purpose.
        export_record(request, filename, purpose=purpose, document="summary_xlsx", batch=batch.pk, city=city.pk)
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response


@method_decorator(never_cache, name="dispatch")
class NoticePdfView(LoginRequiredMixin, View):
    def get(self, request, batch_id: int):
        batch = _batch_in_scope(request, batch_id)
        return _pdf_response(documents.notice_pdf(batch), f"公示名单-{batch.name}.pdf")


# ------------------------------------------------------------------------------------- bulk issue


def issue_run_progress(run: IssueRun) -> dict:
    """Counts of a bulk issue: numbered (certificate reserved), issued (PDF stored), skipped (revoked or
    expired before its PDF was made), and whether every queued application is accounted for."""
    certificates = Certificate.objects.filter(application_id__in=run.application_ids)
    numbered = certificates.count()
    issued = certificates.exclude(pdf_sha256="").count()
    skipped = certificates.filter(pdf_sha256="").exclude(status=CertificateStatus.VALID).count()
    total = len(run.application_ids)
    return {"run": run.pk, "batch": run.batch_id, "total": total, "numbered": numbered, "issued": issued,
            "skipped": skipped, "done": issued + skipped >= total}


def _officer_batch(request, batch_id: int) -> Batch:
    batch = _batch_in_scope(request, batch_id)
    if not user_may_issue(request.user, batch):
        raise PermissionDenied("只有省级科协审核人可以批量颁发证书")
    return batch


@method_decorator(never_cache, name="dispatch")
class BatchIssueAllView(LoginRequiredMixin, View):
    """GET: how many approved applications wait for a certificate; POST: an issue effect for each."""

    def get(self, request, batch_id: int):
        batch = _officer_batch(request, batch_id)
        runs = IssueRun.objects.filter(batch=batch).select_related("requested_by")[:10]
        return render(request, "printing/issue_all.html", {
            "batch": batch,
            "approved": Application.objects.filter(batch=batch, status=Status.APPROVED).count(),
            "certified": Application.objects.filter(batch=batch, status=Status.CERTIFIED).count(),
            "runs": [(run, issue_run_progress(run)) for run in runs],
        })

    def post(self, request, batch_id: int):
        batch = _officer_batch(request, batch_id)
        with transaction.atomic():
            ids = list(
                Application.objects.filter(batch=batch, status=Status.APPROVED).order_by("pk").values_list("pk", flat=True)
            )
            run = IssueRun.objects.create(batch=batch, requested_by=request.user, application_ids=ids)
            # One outbox effect per application, in this transaction; one already pending (the flow's own,
            # after the notice) is kept and does the work.
            effects_add(kind="certificate_issue",
                        items=[(pk, [pk], {"actor_id": request.user.pk}) for pk in ids])
        return redirect(reverse("printing:issue_run", args=[batch.pk, run.pk]))


def _run_in_scope(request, batch_id: int, run_id: int) -> IssueRun:
    """A bulk issue's progress is for the officers who may issue the batch's certificates."""
    batch = _officer_batch(request, batch_id)
    return get_object_or_404(IssueRun.objects.select_related("batch", "requested_by"), pk=run_id, batch=batch)


@method_decorator(never_cache, name="dispatch")
class IssueRunView(LoginRequiredMixin, View):
    def get(self, request, batch_id: int, run_id: int):
        run = _run_in_scope(request, batch_id, run_id)
        return render(request, "printing/issue_progress.html", {
            "run": run, "batch": run.batch, "progress": issue_run_progress(run),
            "progress_url": reverse("printing:issue_run_progress", args=[batch_id, run_id]),
        })


@method_decorator(never_cache, name="dispatch")
class IssueRunProgressView(LoginRequiredMixin, View):
    def get(self, request, batch_id: int, run_id: int):
        return JsonResponse(issue_run_progress(_run_in_scope(request, batch_id, run_id)))
