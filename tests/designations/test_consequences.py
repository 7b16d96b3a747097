"""Consequences by the program's rules (data): 不合格 → rectification; two 不合格 in a validity period, a
failed rectification or a missing report → a revocation proposal, which the province's leader decides;
expiry through beat."""
import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from approvals import errors as E
from approvals.models import AuditEvent, Status
from approvals.stages import RectificationStatus, RevocationStatus
from designations import consequences as C
from designations import reports as R
from designations.models import AnnualReport, Designation, ProgramFollowUp, Rectification, RevocationProposal
from designations.tasks import annual_reports_overdue
from printing.models import Certificate, CertificateStatus
from tests.approvals.chain import act
from workflows.models import Notification
from workflows.tasks import expire_designations
from workflows.workdays import add_workdays

from .test_reports import DUE, YEAR, designate, tell, to_province

pytestmark = pytest.mark.django_db
RFS, RVS = RectificationStatus, RevocationStatus


def graded(world, designation, grade, year=YEAR):
    if not AnnualReport.objects.filter(designation=designation, year=year).exists():
        R.reporting_window_open(actor=act(world, "anhui_reviewer"), province_id=world.org["anhui"].pk, year=year,
                                due_on=DUE)
    report = to_province(world, AnnualReport.objects.get(designation=designation, year=year))
    return R.report_grade(actor=act(world, "anhui_reviewer"), report_id=report.pk, grade=grade, comment="评定意见")


@pytest.fixture
def designation(world, follow_up):
    (designation,) = designate(world)
    return designation


def test_a_pass_has_no_consequence_and_excellent_is_commended(world, designation):
    report = graded(world, designation, "pass")
    assert not Rectification.objects.exists() and not report.commended
    report = graded(world, designation, "excellent", year=YEAR + 1)
    assert AnnualReport.objects.get(pk=report.pk).commended
    assert Designation.objects.get(pk=designation.pk).status == "valid"


def test_a_fail_then_a_rectification_that_passes(world, designation):
    report = graded(world, designation, "fail")
    rectification = Rectification.objects.get(report=report)
    assert rectification.due_on == add_workdays(timezone.now(), 40)  # the program's rule, in working days
    designation.refresh_from_db()
    assert designation.status == "rectifying" and "不合格" in designation.status_reason
    tell(report)
    assert Notification.objects.filter(user=world.user["langya_clerk"], title__contains="责令整改").exists()
    with pytest.raises(E.InvalidInput):
        C.rectification_submit(actor=act(world, "langya_clerk"), rectification_id=rectification.pk, text=" ")
    with pytest.raises(E.NotAllowed):
        C.rectification_submit(actor=act(world, "chuzhou_reviewer"), rectification_id=rectification.pk, text="x")
    C.rectification_submit(actor=act(world, "langya_clerk"), rectification_id=rectification.pk, text="已补充服务记录")
    C.rectification_city_return(actor=act(world, "chuzhou_reviewer"), rectification_id=rectification.pk,
                                reason="缺少佐证材料")
    C.rectification_submit(actor=act(world, "langya_clerk"), rectification_id=rectification.pk, text="已补充佐证")
    C.rectification_city_accept(actor=act(world, "chuzhou_reviewer"), rectification_id=rectification.pk)
    with pytest.raises(E.WrongState):
        C.rectification_city_accept(actor=act(world, "chuzhou_reviewer"), rectification_id=rectification.pk)
    C.rectification_decide(actor=act(world, "anhui_reviewer"), rectification_id=rectification.pk, passed=True)
    assert Rectification.objects.get(pk=rectification.pk).status == RFS.PASSED
    designation.refresh_from_db()
    assert designation.status == "valid"
    actions = list(AuditEvent.objects.filter(application_id=designation.application_id).order_by("seq")
                   .values_list("action", flat=True))
    assert actions[-6:] == ["rectify_open", "rectify_submit", "rectify_city_return", "rectify_submit",
                            "rectify_city_accept", "rectify_decide"]


def test_two_fails_then_revocation(world, designation, client):
    graded(world, designation, "fail")
    assert not RevocationProposal.objects.exists()
    graded(world, designation, "fail", year=YEAR + 1)
    proposal = RevocationProposal.objects.get(designation=designation)
    assert proposal.status == RVS.PROPOSED and "2 次评定为不合格" in proposal.reasons
    tell(proposal)
    assert Notification.objects.filter(user=world.user["anhui_leader"], title__contains="摘牌").exists()
    with pytest.raises(E.NotAllowed):  # the reviewer proposes by the rules; only the leader decides
        C.revocation_decide(actor=act(world, "anhui_reviewer"), proposal_id=proposal.pk, revoke=True, comment="x")
    with pytest.raises(E.InvalidInput):
        C.revocation_decide(actor=act(world, "anhui_leader"), proposal_id=proposal.pk, revoke=True, comment="")
    C.revocation_decide(actor=act(world, "anhui_leader"), proposal_id=proposal.pk, revoke=True, comment="决定摘牌")
    designation.refresh_from_db()
    assert designation.status == "revoked" and "不合格" in designation.status_reason
    assert designation.application.status == Status.REVOKED
    certificate = Certificate.objects.get(pk=designation.certificate_id)
    assert certificate.status == CertificateStatus.REVOKED
    html = Client().get(f"/verify/{certificate.token}/").content.decode()
    assert 'data-status="revoked"' in html and re.search(r'id="revoked-reason">[^<]*不合格[^<]*决定摘牌<', html)
    with pytest.raises(E.WrongState):
        C.revocation_decide(actor=act(world, "anhui_leader"), proposal_id=proposal.pk, revoke=False, comment="x")


def test_the_leader_may_keep_the_designation(world, designation):
    proposal = C.revocation_propose(designation_id=designation.pk, reasons="测试理由")
    C.revocation_decide(actor=act(world, "anhui_leader"), proposal_id=proposal.pk, revoke=False, comment="给予整改机会")
    assert RevocationProposal.objects.get(pk=proposal.pk).status == RVS.REJECTED
    assert Designation.objects.get(pk=designation.pk).status == "valid"


def test_a_failed_rectification_leads_to_a_proposal(world, designation):
    report = graded(world, designation, "fail")
    rectification = Rectification.objects.get(report=report)
    C.rectification_submit(actor=act(world, "langya_clerk"), rectification_id=rectification.pk, text="整改情况")
    C.rectification_city_accept(actor=act(world, "chuzhou_reviewer"), rectification_id=rectification.pk)
    with pytest.raises(E.InvalidInput):  # a failure needs its reasons
        C.rectification_decide(actor=act(world, "anhui_reviewer"), rectification_id=rectification.pk, passed=False)
    C.rectification_decide(actor=act(world, "anhui_reviewer"), rectification_id=rectification.pk, passed=False,
                           comment="问题未解决")
    proposal = RevocationProposal.objects.get(designation=designation)
    assert "整改未通过：问题未解决" in proposal.reasons
    assert Designation.objects.get(pk=designation.pk).status == "rectifying"


def test_rules_are_data(world, designation):
    """Without the rectification rule a fail orders nothing; with a lower limit one fail proposes revocation."""
    follow_up = ProgramFollowUp.objects.get(program=designation.program)
    follow_up.rules = {"revoke_after_fails": 1}
    follow_up.save()
    graded(world, designation, "fail")
    assert not Rectification.objects.exists() and RevocationProposal.objects.filter(designation=designation).exists()


def test_a_missing_report_is_reminded_escalated_and_then_proposed_for_revocation(world, designation):
    R.reporting_window_open(actor=act(world, "anhui_reviewer"), province_id=world.org["anhui"].pk, year=YEAR,
                            due_on=DUE)
    report = AnnualReport.objects.get(designation=designation)
    assert C.reports_overdue_run(today=DUE) == {"reminded": 0, "escalated": 0, "missing": 0}  # due today: not yet
    after = DUE + dt.timedelta(days=1)
    assert C.reports_overdue_run(today=after)["reminded"] == 1
    assert C.reports_overdue_run(today=after) == {"reminded": 0, "escalated": 0, "missing": 0}  # once
    tell(report)
    assert Notification.objects.filter(user=world.user["langya_clerk"], title__contains="催报").exists()
    escalate_day = add_workdays(DUE, 5) + dt.timedelta(days=1)
    assert C.reports_overdue_run(today=escalate_day)["escalated"] == 1
    tell(report)
    assert Notification.objects.filter(user=world.user["chuzhou_reviewer"], title__contains="督办").exists()
    missing_day = add_workdays(DUE, 10) + dt.timedelta(days=1)
    assert C.reports_overdue_run(today=missing_day)["missing"] == 1
    proposal = RevocationProposal.objects.get(designation=designation)
    assert "逾期未报" in proposal.reasons
    C.revocation_decide(actor=act(world, "anhui_leader"), proposal_id=proposal.pk, revoke=True, comment="决定摘牌")
    assert Designation.objects.get(pk=designation.pk).status == "revoked"
    # A submitted report is never chased; the beat task runs the same.
    assert annual_reports_overdue() == {"reminded": 0, "escalated": 0, "missing": 0}


def test_expiry_through_beat(world, designation):
    Certificate.objects.filter(pk=designation.certificate_id).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1))
    assert expire_designations()["expired"] == 1
    designation.refresh_from_db()
    assert designation.status == "expired"
    assert Client().get("/registry/").content.decode().count('class="designation"') == 0
    html = Client().get(f"/verify/{designation.certificate.token}/").content.decode()
    assert re.search(r'id="designation-status" data-status="expired">已到期', html)


def test_consequence_queries_are_constant(world, follow_up, django_assert_num_queries):
    """A fail with its rectification, and the overdue run per report, cost the same however many
    designations there are."""
    add_workdays(timezone.now(), 40)  # the working-day calendar is read once per process
    for extra in (1, 15):
        designate(world, extra, name=f"其他{extra}")
        (designation,) = designate(world, 1, name=f"本站{extra}")
        year = YEAR + 2 * extra
        R.reporting_window_open(actor=act(world, "anhui_reviewer"), province_id=world.org["anhui"].pk,
                                year=year, due_on=DUE)
        report = to_province(world, AnnualReport.objects.get(designation=designation, year=year))
        with django_assert_num_queries(FAIL_QUERIES):
            R.report_grade(actor=act(world, "anhui_reviewer"), report_id=report.pk, grade="fail")
        AnnualReport.objects.filter(window__year=year).exclude(pk=report.pk).update(reminded_at=timezone.now())
        with django_assert_num_queries(OVERDUE_QUERIES):
            assert C.reports_overdue_run(today=DUE + dt.timedelta(days=1))["reminded"] == 0


# The overdue run: the due reports with their designations and windows, and each program's rules once.
FAIL_QUERIES, OVERDUE_QUERIES = 18, 2
