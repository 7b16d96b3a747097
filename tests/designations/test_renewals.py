"""Renewal (复核/续期): the reminder before expiry opens the renewal, the lighter form runs county → city →
province with the designation's annual grades counted, approval gives a renewed certificate with a new
number while the old certificate and designation are 已续期 and link to the new ones; without renewal the
designation expires on its date through beat."""
import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from approvals import errors as E
from approvals.models import Application, AuditEvent, Status
from approvals.outbox import Effect
from approvals.selectors import audit_verify
from approvals.stages import RenewalStatus
from designations import renewals as RN
from designations.models import Designation, ProgramFollowUp, Renewal
from designations.tasks import renewals_remind
from printing.models import Certificate, CertificateStatus
from tests.approvals.chain import act
from tests.printing.helpers import certified_application
from workflows.models import Notification
from workflows.tasks import expire_designations

from .test_consequences import graded
from .test_reports import designate, tell

pytestmark = pytest.mark.django_db
RNS = RenewalStatus
TODAY = timezone.localdate()
RENEWAL = {"period_summary": "有效期内开展服务四十次。", "main_results": "解决技术难题十五项。",
           "next_plan": "续期后继续服务。"}


def ending_in(designation, days):
    """The designation (and its certificate) valid until `days` from today."""
    until = TODAY + dt.timedelta(days=days)
    Designation.objects.filter(pk=designation.pk).update(valid_until=until)
    Certificate.objects.filter(pk=designation.certificate_id).update(valid_until=until)
    designation.refresh_from_db()
    return until


@pytest.fixture
def designation(world, follow_up):
    (designation,) = designate(world)
    return designation


def to_province(world, renewal, data=RENEWAL):
    RN.renewal_submit(actor=act(world, "langya_clerk"), renewal_id=renewal.pk, data=data)
    RN.renewal_sign_off(actor=act(world, "langya_leader"), renewal_id=renewal.pk)
    return RN.renewal_city_accept(actor=act(world, "chuzhou_reviewer"), renewal_id=renewal.pk, comment="同意续期")


def test_the_reminder_opens_the_renewal_once_within_the_program_s_months(world, designation):
    ending_in(designation, 200)  # beyond the program's six months: not yet
    assert RN.renewals_remind_run() == {"opened": 0}
    ending_in(designation, 150)
    assert renewals_remind() == {"opened": 1}
    assert RN.renewals_remind_run() == {"opened": 0}  # once per designation
    renewal = Renewal.objects.get(designation=designation)
    assert renewal.status == RNS.DRAFT
    tell(renewal)
    assert Notification.objects.filter(user=world.user["langya_clerk"], title__contains="提醒申请续期").exists()
    follow_up = ProgramFollowUp.objects.get(program=designation.program)
    follow_up.rules = {**follow_up.rules, "renewal_remind_months_before": 0}  # rules are data
    follow_up.save()
    (other,) = designate(world, name="另一站")
    ending_in(other, 30)
    assert RN.renewals_remind_run() == {"opened": 0}


def test_a_renewal_approved_gives_a_new_certificate_and_the_old_one_is_renewed(world, designation, client):
    graded(world, designation, "good")
    old_until = ending_in(designation, 100)
    RN.renewals_remind_run()
    renewal = Renewal.objects.get(designation=designation)
    with pytest.raises(E.InvalidInput):  # the lighter form's required fields
        RN.renewal_submit(actor=act(world, "langya_clerk"), renewal_id=renewal.pk, data={"period_summary": "x"})
    with pytest.raises(E.NotAllowed):
        RN.renewal_submit(actor=act(world, "chuzhou_reviewer"), renewal_id=renewal.pk, data=RENEWAL)
    with pytest.raises(E.NotFound):
        RN.renewal_submit(actor=act(world, "nanqiao_clerk"), renewal_id=renewal.pk, data=RENEWAL)
    RN.renewal_save(actor=act(world, "langya_clerk"), renewal_id=renewal.pk, data={"period_summary": "草稿"})
    RN.renewal_submit(actor=act(world, "langya_clerk"), renewal_id=renewal.pk, data=RENEWAL)
    assert Renewal.objects.get(pk=renewal.pk).grades == {"excellent": 0, "good": 1, "pass": 0, "fail": 0,
                                                         "missing": 0}
    RN.renewal_sign_off(actor=act(world, "langya_leader"), renewal_id=renewal.pk)
    with pytest.raises(E.InvalidInput):
        RN.renewal_city_return(actor=act(world, "chuzhou_reviewer"), renewal_id=renewal.pk, reason=" ")
    RN.renewal_city_return(actor=act(world, "chuzhou_reviewer"), renewal_id=renewal.pk, reason="请补充成效佐证")
    assert Renewal.objects.get(pk=renewal.pk).status == RNS.DRAFT
    to_province(world, renewal)
    with pytest.raises(E.NotAllowed):  # the province's leader decides
        RN.renewal_decide(actor=act(world, "anhui_reviewer"), renewal_id=renewal.pk, approve=True)
    tell(renewal)
    assert Notification.objects.filter(user=world.user["anhui_leader"], title__contains="审核通过续期申请").exists()
    old_certificate = Certificate.objects.get(pk=designation.certificate_id)
    RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=True, comment="同意")
    with pytest.raises(E.WrongState):
        RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=True)

    renewal.refresh_from_db()
    designation.refresh_from_db()
    new = renewal.renewed
    assert renewal.status == RNS.APPROVED and designation.renewed_by == new
    assert designation.status == "renewed" and new.status == "valid"
    assert (new.valid_from, new.application_id) == (old_until + dt.timedelta(days=1), designation.application_id)
    assert new.valid_until.year == old_until.year + 3
    old_certificate.refresh_from_db()
    certificate = new.certificate
    assert certificate.number != old_certificate.number and certificate.issued_for_id == designation.application_id
    assert (old_certificate.status, old_certificate.renewed_by, old_certificate.application) == (
        CertificateStatus.RENEWED, certificate, None)
    assert Application.objects.get(pk=designation.application_id).certificate == certificate
    assert Application.objects.get(pk=designation.application_id).status == Status.CERTIFIED
    assert Effect.objects.filter(kind="certificate_render", key=str(certificate.pk)).exists()
    tell(renewal)
    assert Notification.objects.filter(user=world.user["langya_clerk"], body__contains=certificate.number).exists()

    html = Client().get(f"/verify/{old_certificate.token}/").content.decode()
    assert 'data-status="renewed"' in html and f'href="/verify/{certificate.token}/"' in html
    assert re.search(r'id="designation-status" data-status="renewed">已续期', html)
    html = Client().get(f"/verify/{certificate.token}/").content.decode()
    assert 'id="banner" data-status="valid"' in html
    registry = Client().get("/registry/").content.decode()
    assert registry.count('class="designation"') == 1 and certificate.number in registry
    assert old_certificate.number not in registry
    events = list(AuditEvent.objects.filter(application_id=designation.application_id).order_by("seq")
                  .values_list("action", flat=True))
    assert events[-8:] == ["renewal_remind", "renewal_submit", "renewal_sign_off", "renewal_city_return",
                           "renewal_submit", "renewal_sign_off", "renewal_city_accept", "renewal_decide"]

    # The old validity's end passes: nothing expires, the renewed designation is in force.
    assert expire_designations()["expired"] == 0
    # The new designation is reminded again before its own end, and its revocation revokes the new certificate.
    ending_in(new, 30)
    assert RN.renewals_remind_run() == {"opened": 1}


def test_no_renewal_then_expiry_through_beat(world, designation):
    ending_in(designation, 20)
    RN.renewals_remind_run()
    renewal = Renewal.objects.get(designation=designation)
    to_province(world, renewal)
    with pytest.raises(E.InvalidInput):  # a refusal needs its reasons
        RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=False)
    RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=False, comment="成效不足")
    assert Renewal.objects.get(pk=renewal.pk).status == RNS.REJECTED
    assert Designation.objects.get(pk=designation.pk).status == "valid"  # in force until its date
    assert expire_designations()["expired"] == 0
    ending_in(designation, -1)
    assert expire_designations()["expired"] == 1
    designation.refresh_from_db()
    assert designation.status == "expired" and designation.renewed_by is None
    assert Certificate.objects.get(pk=designation.certificate_id).status == CertificateStatus.EXPIRED
    html = Client().get(f"/verify/{designation.certificate.token}/").content.decode()
    assert re.search(r'id="designation-status" data-status="expired">已到期', html)


def test_an_expired_or_rectifying_designation_is_not_renewed(world, designation):
    ending_in(designation, 20)
    RN.renewals_remind_run()
    renewal = to_province(world, Renewal.objects.get(designation=designation))
    ending_in(designation, -1)
    with pytest.raises(E.WrongState):
        RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=True)
    assert Renewal.objects.get(pk=renewal.pk).status == RNS.PROVINCE_REVIEW  # nothing written
    assert Certificate.objects.filter(issued_for=designation.application).count() == 1


def test_a_city_s_own_designation_skips_the_city_review(world, follow_up):
    (designation,) = designate(world, 1, program="innovation-driven-city", county="chuzhou")
    ending_in(designation, 20)
    RN.renewals_remind_run()
    renewal = Renewal.objects.get(designation=designation)
    RN.renewal_submit(actor=act(world, "chuzhou_clerk"), renewal_id=renewal.pk, data=RENEWAL)
    RN.renewal_sign_off(actor=act(world, "chuzhou_leader"), renewal_id=renewal.pk)
    assert Renewal.objects.get(pk=renewal.pk).status == RNS.PROVINCE_REVIEW
    tell(renewal)
    assert Notification.objects.filter(user=world.user["anhui_leader"], title__contains="签发续期申请").exists()


def test_the_chain_with_renewal_events_verifies(world, follow_up, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    designation = Designation.objects.get(application=application)
    ending_in(designation, 20)
    RN.renewals_remind_run()
    renewal = to_province(world, Renewal.objects.get(designation=designation))
    RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=True)
    ok, summary = audit_verify(application_ids=[application.pk], check_age=False)
    assert ok, summary


def test_renewal_queries_are_constant(world, follow_up, django_assert_num_queries):
    """The reminder per designation and the approval cost the same however many designations there are."""
    for extra in (1, 12):
        designate(world, extra, name=f"其他{extra}")
        (designation,) = designate(world, 1, name=f"本站{extra}")
        ending_in(designation, 20)
        with django_assert_num_queries(REMIND_QUERIES):
            assert RN.renewals_remind_run() == {"opened": 1}
        renewal = to_province(world, Renewal.objects.get(designation=designation))
        with django_assert_num_queries(APPROVE_QUERIES):
            RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=True)


REMIND_QUERIES, APPROVE_QUERIES = 16, 24  # the new number: one upsert; the open cases moved: two updates


def test_open_cases_follow_the_renewed_designation(world, designation):
    """A report in progress and an undecided revocation proposal move to the designation in force: after the
    renewal the report is still reminded, graded and has its consequences, and the proposal is decided."""
    from designations import consequences as C
    from designations import reports as R
    from designations.models import AnnualReport, RevocationProposal

    from .test_reports import YEAR, open_year
    from .test_reports import to_province as report_to_province

    open_year(world)
    report = AnnualReport.objects.get(designation=designation, year=YEAR)
    proposal = C.revocation_propose(designation_id=designation.pk, reasons="测试用摘牌理由")
    ending_in(designation, 100)
    RN.renewals_remind_run()
    renewal = to_province(world, Renewal.objects.get(designation=designation))
    RN.renewal_decide(actor=act(world, "anhui_leader"), renewal_id=renewal.pk, approve=True, comment="同意")
    new = Renewal.objects.get(pk=renewal.pk).renewed
    report.refresh_from_db()
    proposal.refresh_from_db()
    assert (report.designation_id, proposal.designation_id) == (new.pk, new.pk)
    assert not AnnualReport.objects.filter(designation=designation).exists()
    event = AuditEvent.objects.filter(application_id=designation.application_id, action="renewal_decide").get()
    assert "1 份未结年度工作报告，1 项待决定摘牌建议转入续期后的授牌" in event.comment

    # The moved report goes on; a 不合格 now puts the designation in force under rectification.
    report_to_province(world, report)
    R.report_grade(actor=act(world, "anhui_reviewer"), report_id=report.pk, grade="fail", comment="未达要求")
    new.refresh_from_db()
    assert new.status == "rectifying" and new.rectifications.count() == 1
    C.revocation_decide(actor=act(world, "anhui_leader"), proposal_id=proposal.pk, revoke=False, comment="保留")
    assert RevocationProposal.objects.get(pk=proposal.pk).status == "rejected"
