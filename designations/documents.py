"""The documents after designation (WeasyPrint, GB/T 9704 letters like printing's, built from the database
only, nothing written): the province's 评定结果通知 of a year's annual reports, the 整改通知书 of a
rectification, the 摘牌决定 of a revocation decided, and (by printing's own pipeline) the renewed
certificate. Scope checks belong to the views (approvals.access)."""
from __future__ import annotations

from django.utils import timezone

from approvals.stages import Grade, ReportStatus, RevocationStatus
from orgs.models import Organization
from printing import signing
from printing.documents import cn_date, gongwen_document
from printing.services import document_prefix

from .models import AnnualReport, Rectification, RevocationProposal


def _doc_number(organization, kind: str, year: int, seq: int) -> str:
    """发文字号 of a follow-up document: the organization's prefix, the kind, the year and the record's own
    number (these documents are one per record, so the record's id keeps the number stable on every print)."""
    return f"{document_prefix(organization)}〔{year}〕{kind}{seq}号"


def evaluation_notice_context(province: Organization, year: int) -> dict:
    reports = list(AnnualReport.objects.filter(designation__province=province, year=year, status=ReportStatus.GRADED)
                   .select_related("designation__program", "designation__city")
                   .order_by("designation__city__path", "designation__awardee_name", "pk"))
    counts = {label: sum(1 for r in reports if r.grade == grade) for grade, label in Grade.choices}
    return {
        "issuer": province, "year": year, "reports": reports, "counts": counts,
        "commended": [r for r in reports if r.commended], "failed": [r for r in reports if r.grade == Grade.FAIL],
        "doc_number": _doc_number(province, "评", year, 1), "doc_date": cn_date(timezone.localdate()),
    }


def evaluation_notice_pdf(province: Organization, year: int) -> bytes:
    rendered = gongwen_document("designations/evaluation_notice.html", evaluation_notice_context(province, year))
    return signing.sign_rendered(rendered, organization=province, reason="评定结果通知")


def rectification_notice_context(rectification: Rectification) -> dict:
    designation = rectification.designation
    report = rectification.report
    return {
        "issuer": designation.province, "designation": designation, "report": report,
        "rectification": rectification, "due_on": cn_date(rectification.due_on),
        "doc_number": _doc_number(designation.province, "整改", rectification.created_at.year, rectification.pk),
        "doc_date": cn_date(rectification.created_at),
    }


def rectification_notice_pdf(rectification: Rectification) -> bytes:
    rendered = gongwen_document("designations/rectification_notice.html", rectification_notice_context(rectification))
    return signing.sign_rendered(rendered, organization=rectification.designation.province, reason="整改通知书")


def revocation_decision_context(proposal: RevocationProposal) -> dict:
    assert proposal.status == RevocationStatus.REVOKED
    designation = proposal.designation
    return {
        "issuer": designation.province, "designation": designation, "proposal": proposal,
        "certificate": designation.certificate,
        "doc_number": _doc_number(designation.province, "摘牌", proposal.decided_at.year, proposal.pk),
        "doc_date": cn_date(proposal.decided_at),
    }


def revocation_decision_pdf(proposal: RevocationProposal) -> bytes:
    rendered = gongwen_document("designations/revocation_decision.html", revocation_decision_context(proposal))
    return signing.sign_rendered(rendered, organization=proposal.designation.province, reason="摘牌决定")
