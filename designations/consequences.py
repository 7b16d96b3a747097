"""What follows an annual report, by the program's rules (data: ProgramFollowUp.rules), not by code:

- a 不合格 grade orders rectification (整改) due in `rectify_on_fail.workdays` working days (the working-day
  calendar of workflows.workdays); the designation is 整改中 until the province decides the rectification
  report passed;
- `revoke_after_fails` 不合格 grades within one validity period, a failed rectification
  (`revoke_on_failed_rectification`) or a missing report (`revoke_on_missing_report`) make a revocation
  proposal (摘牌建议) with its reasons, which the province's leader decides; a revocation revokes the
  certificate through the application's revoke service (verification then shows 已撤销, date, reason);
- a grade in `commend_grades` marks the report for commendation (评先评优);
- a report not submitted by its due date is reminded (the clerks), escalated after
  `escalate_workdays_after_due` working days (the city's reviewers) and, after
  `missing_workdays_after_due`, recorded as missing (the consequence above). Run daily from beat.

Every step is an event on the designation's application chain, told by the notify effect."""
import functools
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import access
from approvals import errors as E
from approvals import services as svc
from approvals.stages import (
    REPORT_ACTIONS,
    Grade,
    RectificationStatus,
    ReportAction,
    ReportStatus,
    RevocationStatus,
)
from workflows.workdays import add_workdays

from . import chain
from .models import DS, AnnualReport, Designation, Rectification, RevocationProposal

logger = logging.getLogger(__name__)
RA = ReportAction


def rules_of(program_id: int) -> dict:
    return chain.follow_up(program_id, "rules")


def _system_event(designation: Designation, action: str, comment: str) -> None:
    chain.system_event(designation.application_id, action, comment)


def _lock_designation(designation_id: int) -> Designation:
    return Designation.objects.select_for_update().get(pk=designation_id)


# ------------------------------------------------------------------------------------ after a grade


def after_grade(report: AnnualReport) -> None:
    """In the grading transaction: commendation, rectification or a revocation proposal, by the rules."""
    designation = report.designation
    rules = rules_of(designation.program_id)
    if report.grade in rules.get("commend_grades", []):
        report.commended = True
        report.save(update_fields=["commended", "updated_at"])
    if report.grade != Grade.FAIL:
        return
    fails = AnnualReport.objects.filter(
        designation=designation, grade=Grade.FAIL,
        year__gte=designation.valid_from.year, year__lte=designation.valid_until.year).count()
    limit = rules.get("revoke_after_fails")
    if limit and fails >= int(limit):
        revocation_propose(designation_id=designation.pk,
                           reasons=f"有效期内年度工作报告 {fails} 次评定为不合格（{report.year} 年度为第 {fails} 次）")
        return
    rectify = rules.get("rectify_on_fail")
    if rectify:
        designation = _lock_designation(designation.pk)
        due_on = add_workdays(timezone.now(), int(rectify.get("workdays", 40)))
        Rectification.objects.create(designation=designation, report=report, due_on=due_on)
        if designation.status == DS.VALID:
            designation.rectify()
            designation.status_changed_at = timezone.now()
            designation.status_reason = f"{report.year} 年度工作报告评定为不合格"
            designation.save(update_fields=["status", "status_changed_at", "status_reason"])
        _system_event(designation, RA.RECTIFY_OPEN,
                      f"{report.year}年度工作报告评定为不合格，责令整改，整改期限 {due_on:%Y-%m-%d}")


# --------------------------------------------------------------------------------- rectification


RECTIFICATION = chain.CaseKind(Rectification, title=lambda rectification: f"整改（{rectification.report.year}年度）")


def rectification_submit(*, actor, rectification_id: int, text: str) -> Rectification:
    """The applicant's clerk submits the rectification report (to the city)."""
    text = (text or "").strip()
    if not text:
        raise E.InvalidInput(E.MSG_RECTIFICATION_REQUIRED, errors={"text": str(E.MSG_RECTIFICATION_REQUIRED)})
    chain.clean_reason(text, required=True)

    def prepare(rectification):
        rectification.report_text = text
        return rectification.rectify_submit

    return chain.act(RECTIFICATION, actor=actor, pk=rectification_id, action=RA.RECTIFY_SUBMIT, prepare=prepare)


def rectification_city_accept(*, actor, rectification_id: int) -> Rectification:
    return chain.accept(RECTIFICATION, actor=actor, pk=rectification_id, action=RA.RECTIFY_CITY_ACCEPT)


def rectification_city_return(*, actor, rectification_id: int, reason: str) -> Rectification:
    return chain.send_back(RECTIFICATION, actor=actor, pk=rectification_id, action=RA.RECTIFY_CITY_RETURN,
                           reason=reason)


def rectification_decide(*, actor, rectification_id: int, passed: bool, comment: str = "") -> Rectification:
    """The province decides: passed (the designation is 有效 again) or failed (by the rules, a revocation
    proposal)."""
    comment = chain.clean_reason(comment, required=not passed)

    def prepare(rectification):
        rectification.decision_comment = comment
        rectification.decided_at = timezone.now()
        return rectification.rectify_pass if passed else rectification.rectify_fail

    def after(rectification):
        designation = _lock_designation(rectification.designation_id)
        if passed:
            if designation.status == DS.RECTIFYING and not designation.rectifications.filter(
                    status__in=[RectificationStatus.OPEN, RectificationStatus.SUBMITTED,
                                RectificationStatus.CITY_PASSED]).exists():
                designation.rectified()
                designation.status_changed_at = timezone.now()
                designation.status_reason = ""
                designation.save(update_fields=["status", "status_changed_at", "status_reason"])
        elif rules_of(designation.program_id).get("revoke_on_failed_rectification"):
            revocation_propose(designation_id=designation.pk,
                               reasons=f"{rectification.report.year} 年度整改未通过：{comment}")

    result = "整改通过" if passed else "整改未通过"
    return chain.act(RECTIFICATION, actor=actor, pk=rectification_id, action=RA.RECTIFY_DECIDE, prepare=prepare,
                     comment=result + (f"：{comment}" if comment else ""), after=after)


# ------------------------------------------------------------------------------------- revocation


def revocation_propose(*, designation_id: int, reasons: str) -> RevocationProposal | None:
    """The rules' revocation proposal (one open per designation; a second reason while one is open is
    added to the chain only). Returns the proposal, or None for a designation no longer in force."""
    with transaction.atomic():
        designation = _lock_designation(designation_id)
        if designation.status not in (DS.VALID, DS.RECTIFYING):
            return None
        try:
            with transaction.atomic():
                proposal = RevocationProposal.objects.create(designation=designation, reasons=reasons)
        except IntegrityError:
            proposal = RevocationProposal.objects.get(designation=designation, status=RevocationStatus.PROPOSED)
        _system_event(designation, RA.PROPOSE_REVOCATION, f"摘牌建议：{reasons}")
    return proposal


PROPOSAL = chain.CaseKind(RevocationProposal, title=lambda proposal: "摘牌建议")


def revocation_decide(*, actor, proposal_id: int, revoke: bool, comment: str) -> RevocationProposal:
    """The province's leader decides: revoke (the certificate is revoked by the application's revoke
    service, with the proposal's reasons and this decision), or keep the designation."""
    comment = chain.clean_reason(comment, required=True)
    with transaction.atomic():
        principal = actor.principal(fresh=True)
        proposal = chain.lock(PROPOSAL, proposal_id)
        grant = access.report_action_check(principal, proposal, RA.DECIDE_REVOCATION)
        (proposal.revoke if revoke else proposal.reject)()
        proposal.decision_comment = comment
        proposal.decided_at = timezone.now()
        proposal.save()
        if revoke:
            # The application's own revocation: its event, the certificate, the designation (with the reason).
            svc.application_revoke(actor=actor, application_id=proposal.designation.application_id,
                                   comment=f"{proposal.reasons}。{comment}")
        else:
            svc.application_record_event(
                actor=actor, application_id=proposal.designation.application_id, action=RA.DECIDE_REVOCATION,
                organization_id=grant.organization_id, role=grant.role, comment=f"不予摘牌：{comment}",
                on_behalf_of_id=grant.on_behalf_of_id)
    return proposal


# --------------------------------------------------------------------------------- overdue reports


def reports_overdue_run(*, today=None) -> dict:
    """Remind, escalate and record as missing the reports not submitted by their due date (daily from
    beat; each report in its own transaction, each step once: its time is recorded on the report)."""
    today = today or timezone.localdate()
    counts = {"reminded": 0, "escalated": 0, "missing": 0}
    due = (AnnualReport.objects.filter(status__in=[ReportStatus.DRAFT, ReportStatus.SIGNOFF], missing_at__isnull=True,
                                       window__due_on__lt=today)
           .select_related("designation", "window").order_by("window__due_on", "pk"))
    rules_cache: dict[int, dict] = {}
    after_due = functools.cache(add_workdays)  # the same few (due date, working days) for every report
    for report in due:
        program_id = report.designation.program_id
        if program_id not in rules_cache:
            rules_cache[program_id] = rules_of(program_id)
        rules = rules_cache[program_id]
        step = _overdue_step(report, rules, today, after_due)
        if step is not None:
            counts[step] += _overdue_apply(report.pk, step, rules, today)
    return counts


def _overdue_step(report, rules, today, after_due) -> str | None:
    due_on = report.window.due_on
    missing_after = rules.get("missing_workdays_after_due")
    escalate_after = rules.get("escalate_workdays_after_due")
    if report.reminded_at is None:
        return "reminded"
    if escalate_after is not None and report.escalated_at is None and today > after_due(due_on, int(escalate_after)):
        return "escalated"
    if missing_after is not None and report.escalated_at is not None and today > after_due(due_on, int(missing_after)):
        return "missing"
    return None


_STEP_ACTIONS = {"reminded": (RA.REMIND, "reminded_at"), "escalated": (RA.ESCALATE, "escalated_at"),
                 "missing": (RA.MISSING, "missing_at")}


def _overdue_apply(report_id: int, step: str, rules: dict, today) -> int:
    action, field = _STEP_ACTIONS[step]
    with transaction.atomic():
        report = (AnnualReport.objects.select_for_update(of=("self",)).select_related("designation", "window")
                  .filter(pk=report_id).first())
        if report is None or report.status not in REPORT_ACTIONS[action].sources or getattr(report, field):
            return 0
        setattr(report, field, timezone.now())
        report.save(update_fields=[field, "updated_at"])
        due = f"{report.window.due_on:%Y-%m-%d}"
        texts = {
            "reminded": f"{report.year}年度工作报告已过报送截止日期（{due}），请尽快报送",
            "escalated": f"{report.year}年度工作报告逾期未报（截止 {due}），请督促报送",
            "missing": f"{report.year}年度工作报告逾期未报（截止 {due}），认定为未报送",
        }
        _system_event(report.designation, action, texts[step])
        if step == "missing" and rules.get("revoke_on_missing_report"):
            revocation_propose(designation_id=report.designation_id,
                               reasons=f"{report.year} 年度工作报告逾期未报（截止 {due}）")
    return 1
