"""Every write to an annual report (年度工作报告) and its reporting window. Each action on a report has the
shape of every case's (designations.chain): one transaction that reads the actor's roles afresh, locks the
report, asks the access layer (approvals.access.report_action_check), checks the input, moves the report's
FSM, saves, and appends the event to the designation's application chain, whose `notify_event` effect
tells the pool that acts next (workflows.notifications). A refused action raises an ApprovalError and
leaves everything as it was."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals import access
from approvals import errors as E
from approvals.services import Actor
from approvals.stages import Grade, ReportAction, ReportStatus
from orgs.access import pool_members
from orgs.models import Level, Organization, Role
from workflows.models import NotificationKind
from workflows.notifications import Message, notifications_create, queue_emails

from . import chain
from .consequences import after_grade
from .models import IN_FORCE, AnnualReport, Designation, ReportingWindow

RA = ReportAction
RS = ReportStatus


def report_fields(program_id: int) -> list[dict]:
    return chain.follow_up(program_id, "report_fields")


# ------------------------------------------------------------------------------------------- window


def reporting_window_open(*, actor: Actor, province_id: int, year: int, due_on: dt.date) -> ReportingWindow:
    """Open a province's reporting round for `year`: every designation of the province in force, and
    designated before the year's end, gets its report to fill (a draft); its applicant's clerks are
    told, with the due date."""
    today = timezone.localdate()
    with transaction.atomic():
        principal = actor.principal(fresh=True)
        province = Organization.objects.filter(pk=province_id, level=Level.PROVINCE).first()
        if province is None or not access.may_open_reporting_window(principal, province):
            raise E.NotAllowed(E.MSG_NOT_ALLOWED, action=_WINDOW_LABEL)
        if not isinstance(due_on, dt.date) or due_on <= today:
            raise E.InvalidInput(E.MSG_REPORT_WINDOW_DUE, today=today.isoformat(),
                                 errors={"due_on": str(E.MSG_REPORT_WINDOW_DUE % {"today": today.isoformat()})})
        try:
            with transaction.atomic():
                window = ReportingWindow.objects.create(province=province, year=year, due_on=due_on,
                                                        opened_by=actor.user)
        except IntegrityError:
            raise E.Conflict(E.MSG_REPORT_WINDOW_EXISTS, province=province.name, year=year) from None
        designations = list(
            Designation.objects.filter(province=province, status__in=IN_FORCE, valid_from__year__lte=year)
            .values_list("pk", "applicant_id", "applicant_path", "city_id", "province_id"))
        # The designation's path, city and province go with each report (AnnualReport.applicant_path).
        AnnualReport.objects.bulk_create(
            [AnnualReport(designation_id=pk, window=window, year=year, applicant_path=path, city_id=city_id,
                          province_id=province_id)
             for pk, _applicant, path, city_id, province_id in designations])
        applicants = sorted({applicant for _pk, applicant, *_copied in designations})
        message = Message(NotificationKind.TASK, f"请填报 {year} 年度工作报告",
                          f"{province.name}已开启 {year} 年度授牌单位工作报告填报，请于 {due_on:%Y-%m-%d} 前填报并报送。",
                          "")
        ids = notifications_create(
            batches=[(pool_members(organization_id=applicant, role=Role.CLERK), message) for applicant in applicants],
            key=f"report-window:{window.pk}")
        queue_emails(ids)
    return window


_WINDOW_LABEL = _("开启年度报告填报")


# ------------------------------------------------------------------------------------------ reports


REPORT = chain.CaseKind(AnnualReport, title=lambda report: f"{report.year}年度工作报告", form="report_fields",
                        invalid=E.MSG_REPORT_INVALID)


def report_save(*, actor: Actor, report_id: int, data: dict) -> AnnualReport:
    """Save a draft report as filled so far (required fields are checked on submission)."""
    return chain.draft_save(REPORT, actor=actor, pk=report_id, action=RA.SUBMIT, data=data)


def report_submit(*, actor: Actor, report_id: int, data: dict | None = None) -> AnnualReport:
    """The applicant's clerk submits the report (with `data`, as filled now) for the leader's sign-off."""
    return chain.submit(REPORT, actor=actor, pk=report_id, action=RA.SUBMIT, data=data)


def report_sign_off(*, actor: Actor, report_id: int) -> AnnualReport:
    """The applicant's leader signs it off: to the city (to the province for a city's own designation)."""
    return chain.sign_off(REPORT, actor=actor, pk=report_id, action=RA.SIGN_OFF)


def report_leader_return(*, actor: Actor, report_id: int, reason: str) -> AnnualReport:
    return chain.send_back(REPORT, actor=actor, pk=report_id, action=RA.LEADER_RETURN, reason=reason)


def report_city_return(*, actor: Actor, report_id: int, reason: str) -> AnnualReport:
    """The city returns the report for revision, with its reasons (to the applicant's clerk)."""
    return chain.send_back(REPORT, actor=actor, pk=report_id, action=RA.CITY_RETURN, reason=reason)


def report_city_accept(*, actor: Actor, report_id: int, comment: str = "") -> AnnualReport:
    return chain.accept(REPORT, actor=actor, pk=report_id, action=RA.CITY_ACCEPT, comment=comment)


def _expert_score(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        score = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise E.InvalidInput(E.MSG_EXPERT_SCORE, errors={"expert_score": str(E.MSG_EXPERT_SCORE)}) from None
    if not score.is_finite() or not Decimal(0) <= score <= Decimal(100) or score != score.quantize(Decimal("0.1")):
        raise E.InvalidInput(E.MSG_EXPERT_SCORE, errors={"expert_score": str(E.MSG_EXPERT_SCORE)})
    return score


def report_grade(*, actor: Actor, report_id: int, grade: str, comment: str = "", expert_score=None) -> AnnualReport:
    """The province grades the report (优秀, 良好, 合格, 不合格) with its comments and, optionally, an
    expert score; the applicant's clerks are told the result."""
    if grade not in Grade.values:
        raise E.InvalidInput(E.MSG_GRADE_REQUIRED, errors={"grade": str(E.MSG_GRADE_REQUIRED)})
    comment = chain.clean_reason(comment, required=False)
    score = _expert_score(expert_score)

    def prepare(report):
        report.grade, report.grade_comment, report.expert_score = grade, comment, score
        report.graded_at = timezone.now()
        return report.report_grade

    text = f"评定等次：{Grade(grade).label}" + (f"；专家评分 {score}" if score is not None else "") + (
        f"；评定意见：{comment}" if comment else "")
    return chain.act(REPORT, actor=actor, pk=report_id, action=RA.GRADE, prepare=prepare, comment=text,
                     after=after_grade)
