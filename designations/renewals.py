"""Renewal (复核/续期) of a designation, by the program's rules (data, ProgramFollowUp):

- `renewal_remind_months_before` months before the designation's last valid day, the daily beat run
  (`renewals_remind_run`) opens its renewal application (a draft of the lighter form
  `ProgramFollowUp.renewal_fields`) and tells the applicant's clerks; once per designation;
- the chain is the annual report's: the applicant's clerk submits (the designation's annual grades are
  counted then), its leader signs off or returns, the city accepts or returns with reasons (skipped for a
  city's own designation), the province's leader decides;
- approval issues a renewed certificate with a new number (printing.services.certificate_renew), valid from
  the day after the old one's last day, and a new designation in force; the old certificate and the old
  designation are 已续期 and link to the new ones;
- without an approved renewal the designation expires on its date (approvals.expiry, nightly from beat).

Each action has the shape of every case's (designations.chain): one transaction that asks the access layer
(approvals.access.report_action_check, the table approvals.stages.REPORT_ACTIONS) and appends its event to
the application's audit chain, whose notify effect tells whoever acts next (the outbox)."""
import calendar
import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import errors as E
from approvals.models import Application
from approvals.outbox import effect_add
from approvals.services import Actor
from approvals.stages import (
    Grade,
    RenewalStatus,
    ReportAction,
    ReportStatus,
    RevocationStatus,
)
from printing.services import certificate_renew

from . import chain
from .models import (
    DS,
    IN_FORCE,
    OPEN_RENEWAL,
    AnnualReport,
    Designation,
    ProgramFollowUp,
    Renewal,
    RevocationProposal,
)
from .services import designation_fields

RA = ReportAction
RNS = RenewalStatus


RENEWAL = chain.CaseKind(Renewal, title=lambda renewal: "续期申请", form="renewal_fields",
                         invalid=E.MSG_RENEWAL_INVALID)


def renewal_fields(program_id: int) -> list[dict]:
    return chain.follow_up(program_id, "renewal_fields")


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


# ------------------------------------------------------------------------------------- the reminder


def renewals_remind_run(*, today=None) -> dict:
    """Open the renewal of every designation in force whose validity ends within its program's
    `renewal_remind_months_before` months and tell its clerks (each designation once; daily from beat)."""
    today = today or timezone.localdate()
    opened = 0
    for follow_up in ProgramFollowUp.objects.only("program_id", "rules"):
        months = (follow_up.rules or {}).get("renewal_remind_months_before")
        if not months:
            continue
        due = (Designation.objects.filter(program_id=follow_up.program_id, status__in=IN_FORCE,
                                          renewal_reminded_at__isnull=True, valid_until__gte=today,
                                          valid_until__lte=add_months(today, int(months)))
               .order_by("valid_until", "pk").values_list("pk", flat=True))
        for designation_id in list(due):
            opened += _remind(designation_id, today)
    return {"opened": opened}


def _remind(designation_id: int, today) -> int:
    return 1 if renewal_open(designation_id=designation_id) is not None else 0


def renewal_open(*, designation_id: int) -> Renewal | None:
    """Open the renewal of a designation in force (the system's reminder) and tell its clerks, once: returns
    the renewal, or None when the designation is not in force or was reminded already."""
    with transaction.atomic():
        designation = Designation.objects.select_for_update().filter(pk=designation_id).first()
        if designation is None or designation.status not in IN_FORCE or designation.renewal_reminded_at:
            return None
        designation.renewal_reminded_at = timezone.now()
        designation.save(update_fields=["renewal_reminded_at"])
        try:
            with transaction.atomic():
                renewal = Renewal.objects.create(designation=designation)
        except IntegrityError:
            renewal = Renewal.objects.get(designation=designation, status__in=OPEN_RENEWAL)
        chain.system_event(designation.application_id, RA.RENEW_REMIND,
                           f"认定有效期至 {designation.valid_until:%Y-%m-%d}，请于有效期届满前提交续期申请")
    return renewal


# ---------------------------------------------------------------------------------------- the chain


def renewal_save(*, actor: Actor, renewal_id: int, data: dict) -> Renewal:
    """Save the draft as filled so far (required fields are checked on submission)."""
    return chain.draft_save(RENEWAL, actor=actor, pk=renewal_id, action=RA.RENEW_SUBMIT, data=data)


def grades_count(designation_id: int) -> dict:
    """The designation's annual grades: how many of each, and the reports recorded as missing."""
    counts = {grade: 0 for grade in Grade.values} | {"missing": 0}
    rows = (AnnualReport.objects.filter(designation_id=designation_id)
            .values_list("status", "grade", "missing_at"))
    for status, grade, missing_at in rows:
        if status == ReportStatus.GRADED and grade:
            counts[grade] += 1
        elif missing_at is not None:
            counts["missing"] += 1
    return counts


def grades_text(counts: dict) -> str:
    parts = [f"{Grade(grade).label} {counts.get(grade, 0)}" for grade in Grade.values]
    return "历年年度报告评定：" + "、".join(parts) + f"；逾期未报 {counts.get('missing', 0)}"


def renewal_submit(*, actor: Actor, renewal_id: int, data: dict | None = None) -> Renewal:
    """The applicant's clerk submits the renewal application; its annual grades are counted now."""
    def also(renewal):
        renewal.grades = grades_count(renewal.designation_id)

    return chain.submit(RENEWAL, actor=actor, pk=renewal_id, action=RA.RENEW_SUBMIT, data=data, also=also,
                        suffix=lambda renewal: "。" + grades_text(renewal.grades))


def renewal_sign_off(*, actor: Actor, renewal_id: int) -> Renewal:
    return chain.sign_off(RENEWAL, actor=actor, pk=renewal_id, action=RA.RENEW_SIGN_OFF)


def renewal_leader_return(*, actor: Actor, renewal_id: int, reason: str) -> Renewal:
    return chain.send_back(RENEWAL, actor=actor, pk=renewal_id, action=RA.RENEW_LEADER_RETURN, reason=reason)


def renewal_city_accept(*, actor: Actor, renewal_id: int, comment: str = "") -> Renewal:
    return chain.accept(RENEWAL, actor=actor, pk=renewal_id, action=RA.RENEW_CITY_ACCEPT, comment=comment)


def renewal_city_return(*, actor: Actor, renewal_id: int, reason: str) -> Renewal:
    return chain.send_back(RENEWAL, actor=actor, pk=renewal_id, action=RA.RENEW_CITY_RETURN, reason=reason)


def renewal_decide(*, actor: Actor, renewal_id: int, approve: bool, comment: str = "") -> Renewal:
    """The province's leader approves (a renewed certificate with a new number and a new designation; the
    old ones are 已续期 and link to them) or refuses with reasons (the designation then expires on its date)."""
    comment = chain.clean_reason(comment, required=not approve)
    today = timezone.localdate()
    issued = {}

    def prepare(renewal):
        renewal.decision_comment = comment
        renewal.decided_at = timezone.now()
        if not approve:
            return renewal.renewal_reject
        # The application first (as every action on it does), then the designation and the number sequence.
        Application.objects.select_for_update().only("pk").get(pk=renewal.designation.application_id)
        old = Designation.objects.select_for_update().get(pk=renewal.designation_id)
        if old.status != DS.VALID or old.valid_until < today:
            raise E.WrongState(E.MSG_RENEWAL_NOT_IN_FORCE, status=old.get_status_display())
        program = old.program
        certificate = certificate_renew(certificate_id=old.certificate_id, validity_years=program.validity_years)
        new = Designation(**{
            **designation_fields(old.application, certificate),
            "awardee_name": old.awardee_name, "host_name": old.host_name, "sponsor_society": old.sponsor_society,
        })
        new.save()
        # Open cases follow the site to its designation in force: the year's report still in progress and an
        # undecided revocation proposal (a rectification cannot be open, as only a 有效 designation renews).
        # Graded reports and reports recorded as missing stay with the validity period they belong to.
        issued["moved"] = (
            AnnualReport.objects.filter(designation=old, missing_at__isnull=True)
            .exclude(status=ReportStatus.GRADED).update(designation=new),
            RevocationProposal.objects.filter(designation=old, status=RevocationStatus.PROPOSED)
            .update(designation=new),
        )
        old.renew()
        old.renewed_by = new
        old.status_changed_at = timezone.now()
        old.status_reason = f"已续期，续期后证书编号 {certificate.number}"
        old.save(update_fields=["status", "renewed_by", "status_changed_at", "status_reason"])
        renewal.renewed = new
        issued["certificate"] = certificate
        # The renewed certificate's PDF is rendered by a worker after the commit.
        effect_add(kind="certificate_render", key=certificate.pk, args=[certificate.pk])
        return renewal.renewal_approve

    def result(renewal):
        if not approve:
            return "。不予续期"
        certificate = issued["certificate"]
        reports, proposals = issued["moved"]
        moved = "".join([f"，{reports} 份未结年度工作报告" if reports else "",
                         f"，{proposals} 项待决定摘牌建议" if proposals else ""])
        moved = f"{moved}转入续期后的授牌" if moved else ""
        return f"。批准续期，新证书编号 {certificate.number}，有效期至 {certificate.valid_until:%Y-%m-%d}{moved}"

    return chain.act(RENEWAL, actor=actor, pk=renewal_id, action=RA.RENEW_DECIDE, prepare=prepare,
                     comment=comment, suffix=result)


def renewal_open_for(designation_id: int) -> Renewal | None:
    """The designation's renewal in progress, if any."""
    return Renewal.objects.filter(designation_id=designation_id, status__in=OPEN_RENEWAL).first()
