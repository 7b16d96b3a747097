"""Annual reports: the province opens a year, the county clerk fills and submits, the county leader signs
off, the city reviews (and may return with reasons), the province grades. Each step through the
services, with the FSM, the access layer, the designation's audit chain and the notifications."""
import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from approvals import errors as E
from approvals import services as svc
from approvals.models import AuditEvent
from approvals.outbox import Effect
from approvals.selectors import audit_verify
from approvals.stages import ReportStatus
from designations import reports as R
from designations.models import AnnualReport, Designation
from tests.approvals.chain import act
from tests.printing.helpers import bulk_approved, certified_application
from workflows.models import Notification
from workflows.notifications import notification_event_run

pytestmark = pytest.mark.django_db
RS = ReportStatus
YEAR = timezone.localdate().year
DUE = timezone.localdate() + dt.timedelta(days=30)

STATION_REPORT = {"services_given": 12, "expert_days": 40, "problems_solved": 5, "joint_projects": 2,
                  "trainings": 300, "economic_benefit": "560.5", "summary": "全年开展技术服务十二次。",
                  "next_plan": "明年继续开展服务。"}


def designate(world, count=1, program="society-service-station", **kwargs):
    applications = bulk_approved(world, count, program=program, **kwargs)
    for application in applications:
        svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=application.pk)
    return list(Designation.objects.filter(application__in=applications).order_by("pk"))


def open_year(world, province="anhui"):
    return R.reporting_window_open(actor=act(world, f"{province}_reviewer"), province_id=world.org[province].pk,
                                   year=YEAR, due_on=DUE)


def tell(report):
    """Run the notify effects written so far, as the worker does."""
    for effect in Effect.objects.filter(kind="notify_event", done_at__isnull=True):
        notification_event_run(application_id=effect.args[0], seq=effect.args[1])
        Effect.objects.filter(pk=effect.pk).update(done_at=timezone.now())


def to_province(world, report):
    R.report_submit(actor=act(world, "langya_clerk"), report_id=report.pk, data=STATION_REPORT)
    R.report_sign_off(actor=act(world, "langya_leader"), report_id=report.pk)
    return R.report_city_accept(actor=act(world, "chuzhou_reviewer"), report_id=report.pk, comment="材料属实")


@pytest.fixture
def report(world, follow_up):
    (designation,) = designate(world)
    open_year(world)
    return AnnualReport.objects.get(designation=designation, year=YEAR)


def test_opening_a_year_gives_each_designation_in_force_its_report(world, follow_up):
    first, second, revoked = designate(world, 3)
    other_province = designate(world, 1, province="sichuan", city="chengdu", county="pidu")
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=revoked.application_id, comment="撤销")
    window = open_year(world)
    assert set(AnnualReport.objects.values_list("designation_id", flat=True)) == {first.pk, second.pk}
    assert window.due_on == DUE and other_province
    # The county's clerks are told once.
    assert Notification.objects.filter(user=world.user["langya_clerk"], title__contains=str(YEAR)).count() == 1
    with pytest.raises(E.Conflict):
        open_year(world)
    with pytest.raises(E.NotAllowed):  # a city, and another province's reviewer, may not open it
        R.reporting_window_open(actor=act(world, "chuzhou_reviewer"), province_id=world.org["anhui"].pk,
                                year=YEAR + 1, due_on=DUE)
    with pytest.raises(E.NotAllowed):
        R.reporting_window_open(actor=act(world, "sichuan_reviewer"), province_id=world.org["anhui"].pk,
                                year=YEAR + 1, due_on=DUE)
    with pytest.raises(E.InvalidInput):
        R.reporting_window_open(actor=act(world, "anhui_reviewer"), province_id=world.org["anhui"].pk,
                                year=YEAR + 1, due_on=timezone.localdate())


def test_a_report_graded_pass(world, report):
    R.report_save(actor=act(world, "langya_clerk"), report_id=report.pk, data={"services_given": "3"})
    assert AnnualReport.objects.get(pk=report.pk).form_data == {"services_given": 3}
    report = to_province(world, report)
    assert report.status == RS.PROVINCE_REVIEW
    report = R.report_grade(actor=act(world, "anhui_reviewer"), report_id=report.pk, grade="pass",
                            comment="完成年度目标", expert_score="82.5")
    report.refresh_from_db()
    assert (report.status, report.grade, str(report.expert_score)) == (RS.GRADED, "pass", "82.5")
    assert report.form_data["economic_benefit"] == "560.5" or float(report.form_data["economic_benefit"]) == 560.5
    actions = list(AuditEvent.objects.filter(application_id=report.designation.application_id)
                   .order_by("seq").values_list("action", flat=True))
    assert actions[-4:] == ["report_submit", "report_sign_off", "report_city_accept", "report_grade"]
    last = AuditEvent.objects.filter(application_id=report.designation.application_id).order_by("-seq").first()
    assert "合格" in last.comment and "82.5" in last.comment and last.role == "reviewer"
    assert last.from_status == last.to_status == "certified"


def test_each_step_tells_who_acts_next(world, report):
    R.report_submit(actor=act(world, "langya_clerk"), report_id=report.pk, data=STATION_REPORT)
    tell(report)
    assert Notification.objects.filter(user=world.user["langya_leader"], title__contains="提交年度报告").exists()
    R.report_sign_off(actor=act(world, "langya_leader"), report_id=report.pk)
    tell(report)
    assert Notification.objects.filter(user=world.user["chuzhou_reviewer"], title__contains="签发").exists()
    R.report_city_return(actor=act(world, "chuzhou_reviewer"), report_id=report.pk, reason="专家服务天数无佐证")
    tell(report)
    returned = Notification.objects.get(user=world.user["langya_clerk"], kind="returned")
    assert "专家服务天数无佐证" in returned.body
    report.refresh_from_db()
    assert report.status == RS.DRAFT and report.return_reason == "专家服务天数无佐证"
    report = to_province(world, report)
    tell(report)
    assert Notification.objects.filter(user=world.user["anhui_reviewer"], title__contains="审核通过").exists()
    R.report_grade(actor=act(world, "anhui_reviewer"), report_id=report.pk, grade="excellent")
    tell(report)
    assert Notification.objects.filter(user=world.user["langya_clerk"], kind="decided", body__contains="优秀").exists()


def test_the_access_layer_decides_who_does_each_step(world, report):
    data = {"report_id": report.pk}
    # Not visible: a sibling county, another province (404); visible but not theirs: the leader, the city (403).
    for who in ("nanqiao_clerk", "sichuan_clerk", "hefei_reviewer", "pidu_clerk"):
        with pytest.raises(E.NotFound):
            R.report_submit(actor=act(world, who), data=STATION_REPORT, **data)
    for who in ("langya_leader", "chuzhou_clerk", "chuzhou_reviewer", "anhui_reviewer", "langya_expert"):
        with pytest.raises((E.NotAllowed, E.NotFound)):
            R.report_submit(actor=act(world, who), data=STATION_REPORT, **data)
    R.report_submit(actor=act(world, "langya_clerk"), data=STATION_REPORT, **data)
    with pytest.raises(E.WrongState):  # submitted already: the page went stale
        R.report_submit(actor=act(world, "langya_clerk"), data=STATION_REPORT, **data)
    with pytest.raises(E.NotAllowed):  # the city cannot sign off for the county
        R.report_sign_off(actor=act(world, "chuzhou_leader"), **data)
    with pytest.raises(E.WrongState):  # not yet at the province
        R.report_grade(actor=act(world, "anhui_reviewer"), grade="pass", **data)
    assert AnnualReport.objects.get(pk=report.pk).status == RS.SIGNOFF


def test_bad_input_is_refused_and_nothing_is_written(world, report):
    seq = Designation.objects.get(pk=report.designation_id).application.audit_seq
    with pytest.raises(E.InvalidInput) as missing:
        R.report_submit(actor=act(world, "langya_clerk"), report_id=report.pk, data={"services_given": 1})
    assert "summary" in missing.value.errors
    with pytest.raises(E.InvalidInput):
        R.report_save(actor=act(world, "langya_clerk"), report_id=report.pk, data={"services_given": "很多"})
    R.report_submit(actor=act(world, "langya_clerk"), report_id=report.pk, data=STATION_REPORT)
    R.report_sign_off(actor=act(world, "langya_leader"), report_id=report.pk)
    with pytest.raises(E.InvalidInput):
        R.report_city_return(actor=act(world, "chuzhou_reviewer"), report_id=report.pk, reason="  ")
    R.report_city_accept(actor=act(world, "chuzhou_reviewer"), report_id=report.pk)
    for grade, score in (("", None), ("great", None), ("pass", "101"), ("pass", "8.25"), ("pass", "abc")):
        with pytest.raises(E.InvalidInput):
            R.report_grade(actor=act(world, "anhui_reviewer"), report_id=report.pk, grade=grade, expert_score=score)
    report.refresh_from_db()
    assert report.status == RS.PROVINCE_REVIEW and report.grade == ""
    assert report.designation.application.audit_seq == seq + 3
    with pytest.raises(E.NotFound):
        R.report_sign_off(actor=act(world, "langya_leader"), report_id=10**9)


def test_a_city_s_own_designation_skips_the_city_review(world, follow_up):
    (designation,) = designate(world, 1, program="innovation-driven-city", county="chuzhou")
    open_year(world)
    report = AnnualReport.objects.get(designation=designation)
    data = {"rd_intensity": "2.5", "high_tech_enterprises": 120, "society_services": 30, "summary": "总结",
            "next_plan": "计划"}
    R.report_submit(actor=act(world, "chuzhou_clerk"), report_id=report.pk, data=data)
    report = R.report_sign_off(actor=act(world, "chuzhou_leader"), report_id=report.pk)
    assert report.status == RS.PROVINCE_REVIEW
    tell(report)
    assert Notification.objects.filter(user=world.user["anhui_reviewer"], title__contains="签发").exists()


def test_report_action_queries_are_constant(world, follow_up, django_assert_num_queries):
    """An action costs the same however many designations and reports there are."""
    for extra in (0, 15):
        designate(world, extra, name=f"其他{extra}")
        (designation,) = designate(world, 1, name=f"本站{extra}")
        year = YEAR + extra
        R.reporting_window_open(actor=act(world, "anhui_reviewer"), province_id=world.org["anhui"].pk,
                                year=year, due_on=DUE)
        report = AnnualReport.objects.get(designation=designation, year=year)
        with django_assert_num_queries(SUBMIT_QUERIES):
            R.report_submit(actor=act(world, "langya_clerk"), report_id=report.pk, data=STATION_REPORT)
        R.report_sign_off(actor=act(world, "langya_leader"), report_id=report.pk)
        R.report_city_accept(actor=act(world, "chuzhou_reviewer"), report_id=report.pk)
        with django_assert_num_queries(GRADE_QUERIES):
            R.report_grade(actor=act(world, "anhui_reviewer"), report_id=report.pk, grade="good")


# Lock the report, read the roles (2), the form, lock the application, save both, the event, the effect.
SUBMIT_QUERIES, GRADE_QUERIES = 10, 10  # grading also reads the program's rules


def test_the_chain_with_report_events_verifies(world, follow_up, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    open_year(world)
    report = to_province(world, AnnualReport.objects.get(designation__application=application))
    R.report_grade(actor=act(world, "anhui_reviewer"), report_id=report.pk, grade="fail", comment="未完成目标")
    ok, summary = audit_verify(application_ids=[application.pk], check_age=False)
    assert ok, summary


def copies_and_sources():
    """(report's applicant path, city, province) against its designation's, for every report."""
    return [((r.applicant_path, r.city_id, r.province_id),
             (r.designation.applicant_path, r.designation.city_id, r.designation.province_id))
            for r in AnnualReport.objects.select_related("designation").order_by("pk")]


def test_a_report_carries_its_designation_s_path_city_and_province(world, follow_up):
    """The dashboards count reports by their own copy of the designation's scope (AnnualReport.applicant_path):
    it is set by the one service that creates reports, for a county's site and a city's own alike, and
    migration 0006 fills the reports that existed before it."""
    designate(world, 2)
    designate(world, 1, program="innovation-driven-city", county="chuzhou")
    open_year(world)
    pairs = copies_and_sources()
    assert len(pairs) == 3 and all(copy == source for copy, source in pairs)
    assert {copy[1] for copy, _source in pairs} == {world.org["chuzhou"].pk}
    assert {copy[0] for copy, _source in pairs} >= {world.org["chuzhou"].path}

    migration = importlib.import_module("designations.migrations.0006_report_scope_copy")
    AnnualReport.objects.update(applicant_path="", city=world.org["chengdu"], province=world.org["sichuan"])
    assert not any(copy == source for copy, source in copies_and_sources())
    migration.copy_from_designation(django_apps, None)
    assert all(copy == source for copy, source in copies_and_sources())
