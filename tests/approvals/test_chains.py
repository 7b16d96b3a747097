"""Every program through its whole chain, and every side road of the lifecycle: returns at each level with
resubmission, decline, reject, withdraw, objections during the notice, revoke and expiry. After each step
the status, the audit trail and the viewflow task that is open (node, pool and organization) are checked;
at the end the audit chains are verified, then broken on purpose."""
import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS, STATUS

from approvals import errors as E
from approvals import services as svc
from approvals.models import (
    Application,
    ApplicationUserObjectPermission,
    AuditEvent,
    ExpertAssignment,
    Opinion,
    Program,
    Revision,
)
from approvals.selectors import revision_diff
from orgs.models import Organization
from printing.models import Certificate
from workflows.flows import ApplicationFlow
from workflows.timers import notice_timers_fire
from workflows.workdays import add_workdays

from .chain import SUBJECTS, act, create, publish_and_wait, restamp_stays, to_decision, to_province_check
from .conftest import minimal_docx

ACADEMICIAN_FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "academician_workstation.json"
OPEN = (STATUS.NEW, STATUS.ASSIGNED)


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


# ------------------------------------------------------------------------------------------- helpers


def fresh(application) -> Application:
    return Application.objects.select_related("process").get(pk=application.pk)


def open_tasks(application) -> list[Task]:
    return list(Task.objects.filter(process_id=application.process_id, status__in=OPEN).order_by("pk"))


def expect_pool(world, application, node: str, role: str, org: str) -> Task:
    """Exactly one open task: `node`, unassigned, in the pool of `role` at organization `org`."""
    tasks = open_tasks(application)
    org_ct = ContentType.objects.get_for_model(Organization)
    assert [
        (t.flow_task, t.status, t.owner_id, t.owner_permission, t.owner_permission_content_type_id,
         t.owner_permission_obj_pk)
        for t in tasks
    ] == [(getattr(ApplicationFlow, node), STATUS.NEW, None, f"orgs.pool_{role}", org_ct.pk, str(world.org[org].pk))]
    return tasks[0]


def expect_no_open_task(application) -> None:
    assert open_tasks(application) == []
    assert not Task.objects.filter(process_id=application.process_id, status=STATUS.SCHEDULED).exists()


def expect_done(application) -> None:
    process = Process.objects.get(pk=application.process_id)
    assert (process.status, process.finished is not None) == (PROCESS.DONE, True)
    expect_no_open_task(application)
    assert Task.objects.filter(process_id=application.process_id, flow_task=ApplicationFlow.end,
                               status=STATUS.DONE).count() == 1


def last_event(application) -> tuple:
    e = AuditEvent.objects.filter(application_id=application.pk).order_by("-seq").first()
    return (e.seq, e.action, e.from_status, e.to_status, e.revision, e.role, e.organization_id,
            e.actor.username if e.actor_id else None)


def events(application) -> list[tuple]:
    return list(AuditEvent.objects.filter(application_id=application.pk).order_by("seq")
                .values_list("action", "from_status", "to_status"))


def expect_stays_stamped(application) -> None:
    """Every status-changing event records when its stage was entered: the time of the status-changing
    event before it (the creation for the first), as the reports read it; other events record nothing."""
    entered, seen = None, 0
    for event in AuditEvent.objects.filter(application_id=application.pk).order_by("seq"):
        if event.from_status == event.to_status or not event.from_status:
            assert event.from_entered_at is None, event
        else:
            assert event.from_entered_at == entered, event
            seen += 1
        if event.from_status != event.to_status:
            entered = event.created_at
    assert seen >= 2


def test_backfill_of_stays_matches_what_the_actions_write(world, django_capture_on_commit_callbacks):
    """The migration that added `from_entered_at` derives it for existing events the same way."""
    app = to_decision(world, to_province_check(world, create(world, "society-service-station"), "langya"))
    written = list(AuditEvent.objects.filter(application=app).order_by("seq").values_list("from_entered_at", flat=True))
    AuditEvent.objects.filter(application=app).update(from_entered_at=None)
    restamp_stays()
    assert list(AuditEvent.objects.filter(application=app).order_by("seq")
                .values_list("from_entered_at", flat=True)) == written
    assert sum(1 for value in written if value) >= 4


def opinions(application) -> list[tuple]:
    return list(Opinion.objects.filter(application_id=application.pk).order_by("created_at", "id")
                .values_list("revision", "stage", "decision", "text", "role", "organization_id", "person__username"))


def verify_audit() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue().strip(), err.getvalue().strip()


def applicant_of(program_code: str) -> str:
    return "chuzhou" if program_code == "innovation-driven-city" else "langya"


# ------------------------------------------------------------------------------ the five full chains

# Program code -> (certificate number format, awardee title, attachment count, validity years)
CHAINS = {
    "society-service-station": ("皖科协证〔{year}〕第0001号", "学会服务站", 5, 3),
    "collaborative-innovation-base": ("皖科协基〔{year}〕第0001号", "协同创新示范基地", 3, 3),
    "innovation-driven-county": ("皖科协示县〔{year}〕第0001号", "创新驱动示范区", 3, 3),
    "innovation-driven-city": ("皖科协示市〔{year}〕第0001号", "创新驱动示范市", 3, 3),
    "academician-workstation": ("皖科协院站〔{year}〕第0001号", "院士（专家）工作站", 2, 5),
}


@pytest.mark.parametrize("program_code", list(CHAINS))
def test_full_chain_to_certified(world, program_code, django_capture_on_commit_callbacks):
    if program_code == "academician-workstation":
        assert not Program.objects.filter(code=program_code).exists()
        call_command("loaddata", str(ACADEMICIAN_FIXTURE), verbosity=0)
        assert Program.objects.get(code=program_code).pk == 5
    number_format, title, n_attachments, years = CHAINS[program_code]
    applicant = applicant_of(program_code)
    applicant_id = world.org[applicant].pk
    chuzhou, anhui = world.org["chuzhou"].pk, world.org["anhui"].pk

    app = fresh(create(world, program_code))
    assert (app.status, app.revision, app.applicant_id, app.city_id, app.province_id) == (
        "draft", 1, applicant_id, chuzhou, anhui)
    assert app.applicant_path == world.org[applicant].path
    assert app.attachments.count() == n_attachments
    assert last_event(app) == (1 + n_attachments, "attach", "draft", "draft", 1, "clerk", applicant_id,
                               f"{applicant}_clerk")
    expect_pool(world, app, "edit", "clerk", applicant)

    svc.application_submit(actor=act(world, f"{applicant}_clerk"), application_id=app.pk)
    app = fresh(app)
    assert (app.status, app.revision) == ("applicant_signoff", 1)
    assert list(Revision.objects.filter(application=app).values_list("number", flat=True)) == [1]
    assert last_event(app)[1:] == ("submit", "draft", "applicant_signoff", 1, "clerk", applicant_id,
                                   f"{applicant}_clerk")
    expect_pool(world, app, "sign_off", "leader", applicant)

    svc.application_sign_off(actor=act(world, f"{applicant}_leader"), application_id=app.pk, comment="同意上报")
    app = fresh(app)
    if program_code == "innovation-driven-city":
        # The city applies itself: its chain goes from its own sign-off straight to the province.
        assert app.status == "province_check"
        assert last_event(app)[1:] == ("sign_off", "applicant_signoff", "province_check", 1, "leader", chuzhou,
                                       "chuzhou_leader")
        assert not Task.objects.filter(process_id=app.process_id, flow_task=ApplicationFlow.review_in_city).exists()
    else:
        assert app.status == "city_review"
        expect_pool(world, app, "review_in_city", "reviewer", "chuzhou")
        svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=app.pk, comment="同意推荐")
        app = fresh(app)
        assert app.status == "province_check"
        assert last_event(app)[1:] == ("recommend", "city_review", "province_check", 1, "reviewer", chuzhou,
                                       "chuzhou_reviewer")
    expect_pool(world, app, "check_in_province", "reviewer", "anhui")

    svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=app.pk, comment="材料齐全")
    app = fresh(app)
    assert app.status == "expert_review"
    expect_pool(world, app, "assign_experts", "reviewer", "anhui")

    expert1, expert2 = world.user["anhui_expert"], world.user["anhui_expert2"]
    svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=app.pk,
                                   expert_ids=[expert2.pk, expert1.pk, expert1.pk])
    app = fresh(app)
    assert app.status == "expert_review"
    assert last_event(app)[1:] == ("assign_experts", "expert_review", "expert_review", 1, "reviewer", anhui,
                                   "anhui_reviewer")
    # One task per expert, assigned to that expert, outside any pool.
    assert sorted(
        (t.flow_task, t.status, t.owner_id, t.owner_permission) for t in open_tasks(app)
    ) == sorted([(ApplicationFlow.score, STATUS.ASSIGNED, expert1.pk, None),
                 (ApplicationFlow.score, STATUS.ASSIGNED, expert2.pk, None)])
    assert sorted(ExpertAssignment.objects.filter(application=app).values_list("expert_id", "revision", "score")) == \
        sorted([(expert1.pk, 1, None), (expert2.pk, 1, None)])
    assert sorted(ApplicationUserObjectPermission.objects.filter(content_object=app).values_list(
        "user_id", "permission__codename")) == sorted([(expert1.pk, "score_application"),
                                                       (expert2.pk, "score_application")])

    svc.application_score(actor=act(world, "anhui_expert"), application_id=app.pk, score=88, comment="好")
    app = fresh(app)
    assert app.status == "expert_review"
    assert [(t.flow_task, t.status, t.owner_id) for t in open_tasks(app)] == [
        (ApplicationFlow.score, STATUS.ASSIGNED, expert2.pk)]
    with pytest.raises(E.WrongState) as exc:
        svc.application_score(actor=act(world, "anhui_expert"), application_id=app.pk, score=90)
    assert exc.value.message == str(E.MSG_ALREADY_SCORED)

    svc.application_score(actor=act(world, "anhui_expert2"), application_id=app.pk, score="91.5")
    app = fresh(app)
    assert app.status == "decision"
    assert last_event(app)[1:] == ("score", "expert_review", "decision", 1, "expert", anhui, "anhui_expert2")
    assert sorted(ExpertAssignment.objects.filter(application=app).values_list("expert_id", "score")) == sorted(
        [(expert1.pk, 88), (expert2.pk, 91.5)])
    # Both scoring tasks are done and the last one led to the decision.
    assert sorted(Task.objects.filter(process_id=app.process_id, flow_task=ApplicationFlow.score)
                  .values_list("status", flat=True)) == [STATUS.DONE, STATUS.DONE]
    expect_pool(world, app, "decide", "leader", "anhui")

    svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=True, comment="予以认定")
    app = fresh(app)
    assert (app.status, app.decided_at is not None) == ("public_notice", True)
    expect_pool(world, app, "publish_notice", "reviewer", "anhui")

    app = publish_and_wait(world, app, days_ago=30)
    start = timezone.localdate() - dt.timedelta(days=30)
    assert (app.status, app.notice_starts_on, app.notice_ends_on) == (
        "public_notice", start, add_workdays(start - dt.timedelta(days=1), 5))
    # During the notice: an objection may be upheld (pooled task), and the timer waits for its end.
    expect_pool(world, app, "uphold_objection", "reviewer", "anhui")
    timer = Task.objects.get(process_id=app.process_id, flow_task=ApplicationFlow.wait_notice)
    assert (timer.status, timer.scheduled) == (
        STATUS.SCHEDULED,
        timezone.make_aware(dt.datetime.combine(app.notice_ends_on + dt.timedelta(days=1), dt.time.min)))

    with django_capture_on_commit_callbacks(execute=True):
        if program_code == "collaborative-innovation-base":
            # The notice period ends on its own: the beat task approves through the service, firing the
            # flow's timer; a second run finds nothing left to do.
            assert notice_timers_fire() == 1
            assert notice_timers_fire() == 0
        else:
            svc.application_approve(actor=act(world, "anhui_leader"), application_id=app.pk)
    app = fresh(app)
    assert app.status == "certified"
    certificate = Certificate.objects.get(application=app)
    today, year = timezone.localdate(), app.batch.year
    assert (certificate.number, certificate.seq, certificate.status, certificate.awardee_name,
            certificate.valid_from, certificate.issued_on) == (
        number_format.format(year=year), 1, "valid", SUBJECTS[program_code] + title, today, today)
    assert certificate.valid_until == today.replace(year=today.year + years) - dt.timedelta(days=1)
    assert Task.objects.get(process_id=app.process_id, flow_task=ApplicationFlow.uphold_objection).status == \
        STATUS.CANCELED
    expect_done(app)

    approver = (None, "system") if program_code == "collaborative-innovation-base" else ("anhui_leader", "leader")
    expected_events = (
        [("create", "", "draft")] + [("attach", "draft", "draft")] * n_attachments
        + [("submit", "draft", "applicant_signoff")]
        + ([("sign_off", "applicant_signoff", "province_check")] if program_code == "innovation-driven-city" else
           [("sign_off", "applicant_signoff", "city_review"), ("recommend", "city_review", "province_check")])
        + [("accept", "province_check", "expert_review"), ("assign_experts", "expert_review", "expert_review"),
           ("score", "expert_review", "expert_review"), ("score", "expert_review", "decision"),
           ("decide", "decision", "public_notice"), ("publish_notice", "public_notice", "public_notice"),
           ("approve", "public_notice", "approved"), ("issue_certificate", "approved", "certified")]
    )
    assert events(app) == expected_events
    expect_stays_stamped(app)
    approve_event = AuditEvent.objects.get(application=app, action="approve")
    assert (approve_event.actor.username if approve_event.actor_id else None, approve_event.role) == approver
    assert AuditEvent.objects.get(application=app, action="issue_certificate").comment == certificate.number
    expected_opinions = [(1, "applicant_signoff", "agree", "同意上报", "leader", applicant_id, f"{applicant}_leader")]
    if program_code != "innovation-driven-city":
        expected_opinions.append((1, "city_review", "recommend", "同意推荐", "reviewer", chuzhou, "chuzhou_reviewer"))
    expected_opinions += [
        (1, "province_check", "accept", "材料齐全", "reviewer", anhui, "anhui_reviewer"),
        (1, "decision", "approve", "予以认定", "leader", anhui, "anhui_leader"),
    ]
    assert opinions(app) == expected_opinions
    assert verify_audit() == (0, f"{AuditEvent.objects.count()} 条审计记录，全部链完整；尚无签名摘要，未与库外摘要比对", "")


# ---------------------------------------------------------------------------------- returns and resubmission


def _replace_agreement_and_resubmit(world, app, applicant="langya"):
    """The clerk changes one field and replaces the agreement, then submits revision 2."""
    clerk = act(world, f"{applicant}_clerk")
    old = app.attachments.get(kind="agreement", removed_in__isnull=True)
    form = dict(app.form_data, work_plan="修改后的工作计划。")
    svc.application_edit(actor=clerk, application_id=app.pk, form_data=form)
    svc.attachment_remove(actor=clerk, attachment_id=old.pk)
    content = minimal_docx()
    new = svc.attachment_add(actor=clerk, application_id=app.pk, kind="agreement", name="建站协议（修订）.docx",
                             content=content)
    assert (new.revision, new.content_type, new.sha256) == (
        2, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        hashlib.sha256(content).hexdigest())
    svc.application_submit(actor=clerk, application_id=app.pk)
    app = fresh(app)
    assert (app.status, app.revision) == ("applicant_signoff", 2)
    assert list(Revision.objects.filter(application=app).values_list("number", flat=True)) == [1, 2]
    old_entry = {"name": old.original_name, "sha256": old.sha256, "size": old.size}
    new_entry = {"name": "建站协议（修订）.docx", "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    assert revision_diff(application=app, old=1, new=2) == [
        {"field": "work_plan", "label": "工作计划与目标", "old": "三年内攻关五项关键技术。", "new": "修改后的工作计划。"},
        {"field": "attachment:agreement", "label": "附件：建站协议", "old": [old_entry], "new": [new_entry],
         "files": [{"change": "replaced", "name": new_entry["name"], "size": new_entry["size"],
                    "old_name": old_entry["name"], "old_size": old_entry["size"]}]},
    ]
    # The file of the replaced attachment stays for the frozen revision 1.
    old.refresh_from_db()
    assert old.removed_in == 2
    return app


def _revision_1_values(app):
    return Revision.objects.filter(application=app, number=1).values(
        "subject_name", "uscc", "division_code", "form_data", "attachments", "created_at").get()


@pytest.mark.parametrize(
    "level, returner, stage",
    [
        ("county", "langya_leader", "applicant_signoff"),
        ("city", "chuzhou_reviewer", "city_review"),
        ("province", "anhui_reviewer", "province_check"),
    ],
)
def test_return_and_resubmit(world, level, returner, stage, django_capture_on_commit_callbacks):
    app = create(world, "society-service-station")
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    if level in ("city", "province"):
        svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk, comment="同意上报")
    if level == "province":
        svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=app.pk, comment="同意推荐")
    app = fresh(app)
    assert app.status == stage
    frozen = _revision_1_values(app)
    events_before = AuditEvent.objects.filter(application=app).count()

    with pytest.raises(E.InvalidInput) as exc:
        svc.application_return(actor=act(world, returner), application_id=app.pk, comment="  ")
    assert exc.value.message == str(E.MSG_OPINION_REQUIRED)
    svc.application_return(actor=act(world, returner), application_id=app.pk, comment="协议未盖章，请补正")
    app = fresh(app)
    assert (app.status, app.revision) == ("draft", 2)
    role, org = {"county": ("leader", "langya"), "city": ("reviewer", "chuzhou"),
                 "province": ("reviewer", "anhui")}[level]
    assert last_event(app) == (events_before + 1, "return", stage, "draft", 2, role, world.org[org].pk, returner)
    assert opinions(app)[-1] == (1, stage, "return", "协议未盖章，请补正", role, world.org[org].pk, returner)
    # Back to the applicant's clerks: the edit node again, in the county's clerk pool.
    expect_pool(world, app, "edit", "clerk", "langya")
    assert Task.objects.filter(process_id=app.process_id, flow_task=ApplicationFlow.edit).count() == 2

    app = _replace_agreement_and_resubmit(world, app)
    assert _revision_1_values(app) == frozen
    expect_pool(world, app, "sign_off", "leader", "langya")

    # The returned application goes up again and through to the certificate.
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk, comment="已补正")
    expect_pool(world, app, "review_in_city", "reviewer", "chuzhou")
    svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=app.pk, comment="同意推荐")
    expect_pool(world, app, "check_in_province", "reviewer", "anhui")
    app = to_decision(world, fresh(app))
    assert ExpertAssignment.objects.filter(application=app, revision=2).count() == 2
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=True, comment="予以认定")
    app = publish_and_wait(world, app)
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=app.pk)
    app = fresh(app)
    assert (app.status, app.revision, app.certificate.number) == (
        "certified", 2, f"皖科协证〔{app.batch.year}〕第0001号")
    expect_done(app)
    assert verify_audit()[0] == 0


# ---------------------------------------------------------------------------------- endings on the way


def test_decline_ends_the_process(world):
    app = create(world, "society-service-station")
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk, comment="同意上报")
    with pytest.raises(E.InvalidInput):
        svc.application_decline(actor=act(world, "chuzhou_reviewer"), application_id=app.pk, comment="")
    svc.application_decline(actor=act(world, "chuzhou_reviewer"), application_id=app.pk, comment="不符合推荐条件")
    app = fresh(app)
    assert (app.status, app.is_terminal) == ("not_recommended", True)
    assert last_event(app)[1:] == ("decline", "city_review", "not_recommended", 1, "reviewer",
                                   world.org["chuzhou"].pk, "chuzhou_reviewer")
    assert opinions(app)[-1] == (1, "city_review", "decline", "不符合推荐条件", "reviewer", world.org["chuzhou"].pk,
                                 "chuzhou_reviewer")
    expect_done(app)
    # Terminal: nothing more can happen to it.
    with pytest.raises(E.WrongState):
        svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=app.pk)
    with pytest.raises(E.WrongState):
        svc.application_withdraw(actor=act(world, "langya_clerk"), application_id=app.pk)


def test_reject_ends_the_process(world):
    app = to_decision(world, to_province_check(world, create(world, "collaborative-innovation-base"), "langya"))
    expect_pool(world, app, "decide", "leader", "anhui")
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=False, comment="不予认定")
    app = fresh(app)
    assert (app.status, app.decided_at is not None) == ("rejected", True)
    assert last_event(app)[1:] == ("decide", "decision", "rejected", 1, "leader", world.org["anhui"].pk,
                                   "anhui_leader")
    assert opinions(app)[-1] == (1, "decision", "reject", "不予认定", "leader", world.org["anhui"].pk, "anhui_leader")
    expect_done(app)
    assert not Certificate.objects.filter(application=app).exists()


@pytest.mark.parametrize("stage", ["draft", "applicant_signoff", "city_review"])
def test_withdraw_ends_the_process(world, stage):
    app = create(world, "innovation-driven-county")
    if stage != "draft":
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    if stage == "city_review":
        svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk)
    assert fresh(app).status == stage
    svc.application_withdraw(actor=act(world, "langya_clerk"), application_id=app.pk, comment="主体决定暂不申报")
    app = fresh(app)
    assert (app.status, app.is_terminal) == ("withdrawn", True)
    assert last_event(app)[1:] == ("withdraw", stage, "withdrawn", 1, "clerk", world.org["langya"].pk,
                                   "langya_clerk")
    expect_done(app)
    with pytest.raises(E.WrongState):
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)


def test_withdraw_not_after_the_city_recommended(world):
    app = to_province_check(world, create(world, "innovation-driven-county"), "langya")
    with pytest.raises(E.WrongState) as exc:
        svc.application_withdraw(actor=act(world, "langya_clerk"), application_id=app.pk)
    assert exc.value.message == E.MSG_WRONG_STATE % {"status": "省级形式审查中", "action": "撤回"}
    assert fresh(app).status == "province_check"


# ---------------------------------------------------------------------------------- the public notice


def test_objection_upheld_back_to_decision_then_new_notice(world, django_capture_on_commit_callbacks):
    app = to_decision(world, to_province_check(world, create(world, "society-service-station"), "langya"))
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=True, comment="予以认定")
    app = publish_and_wait(world, app, days_ago=2)
    first_timer = Task.objects.get(process_id=app.process_id, flow_task=ApplicationFlow.wait_notice)
    assert first_timer.status == STATUS.SCHEDULED

    # Not upheld: recorded, the notice goes on, the tasks stay as they were.
    tasks_before = list(Task.objects.filter(process_id=app.process_id).order_by("pk").values_list("pk", "status"))
    svc.application_object(actor=act(world, "anhui_reviewer"), application_id=app.pk, comment="匿名来信，经核查不属实",
                           upheld=False)
    app = fresh(app)
    assert (app.status, app.notice_starts_on is not None) == ("public_notice", True)
    assert last_event(app)[1:] == ("object", "public_notice", "public_notice", 1, "reviewer",
                                   world.org["anhui"].pk, "anhui_reviewer")
    assert opinions(app)[-1][1:4] == ("public_notice", "objection_dismissed", "匿名来信，经核查不属实")
    assert list(Task.objects.filter(process_id=app.process_id).order_by("pk").values_list("pk", "status")) == \
        tasks_before

    # Upheld: back to the decision; the notice dates are cleared and the notice timer is cancelled.
    svc.application_object(actor=act(world, "anhui_reviewer"), application_id=app.pk, comment="专家名单与事实不符",
                           upheld=True)
    app = fresh(app)
    assert (app.status, app.notice_starts_on, app.notice_ends_on) == ("decision", None, None)
    assert last_event(app)[1:] == ("object", "public_notice", "decision", 1, "reviewer", world.org["anhui"].pk,
                                   "anhui_reviewer")
    assert opinions(app)[-1][1:4] == ("public_notice", "objection_upheld", "专家名单与事实不符")
    first_timer.refresh_from_db()
    assert first_timer.status == STATUS.CANCELED
    expect_pool(world, app, "decide", "leader", "anhui")
    assert notice_timers_fire() == 0

    # Decide again, publish a new notice, and this time it ends without objection.
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=True,
                           comment="核实后予以认定")
    expect_pool(world, app, "publish_notice", "reviewer", "anhui")
    app = publish_and_wait(world, app, days_ago=20)
    assert Task.objects.filter(process_id=app.process_id, flow_task=ApplicationFlow.wait_notice,
                               status=STATUS.SCHEDULED).count() == 1
    expect_pool(world, app, "uphold_objection", "reviewer", "anhui")
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=app.pk)
    app = fresh(app)
    assert app.status == "certified"
    expect_done(app)
    assert events(app)[-8:] == [
        ("decide", "decision", "public_notice"), ("publish_notice", "public_notice", "public_notice"),
        ("object", "public_notice", "public_notice"), ("object", "public_notice", "decision"),
        ("decide", "decision", "public_notice"), ("publish_notice", "public_notice", "public_notice"),
        ("approve", "public_notice", "approved"), ("issue_certificate", "approved", "certified"),
    ]
    assert Task.objects.filter(process_id=app.process_id, flow_task=ApplicationFlow.decide).count() == 2


def test_approve_refused_before_the_notice_ends(world):
    app = to_decision(world, to_province_check(world, create(world, "society-service-station"), "langya"))
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=True, comment="予以认定")
    svc.application_publish_notice(actor=act(world, "anhui_reviewer"), application_id=app.pk)
    app = fresh(app)
    before = (AuditEvent.objects.count(), list(Task.objects.order_by("pk").values_list("pk", "status")))
    with pytest.raises(E.RuleViolation) as exc:
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=app.pk)
    assert exc.value.message == E.MSG_NOTICE_NOT_OVER % {"end": app.notice_ends_on}
    assert notice_timers_fire() == 0
    assert fresh(app).status == "public_notice"
    assert (AuditEvent.objects.count(), list(Task.objects.order_by("pk").values_list("pk", "status"))) == before


# ---------------------------------------------------------------------------------- after the certificate


def _certified(world, django_capture_on_commit_callbacks, program_code="society-service-station"):
    app = to_decision(world, to_province_check(world, create(world, program_code), "langya"))
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=app.pk, approve=True, comment="予以认定")
    app = publish_and_wait(world, app)
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=app.pk)
    app = fresh(app)
    assert app.status == "certified"
    return app


def test_revoke(world, django_capture_on_commit_callbacks):
    app = _certified(world, django_capture_on_commit_callbacks)
    with pytest.raises(E.InvalidInput):
        svc.application_revoke(actor=act(world, "anhui_leader"), application_id=app.pk, comment="")
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=app.pk, comment="经查材料弄虚作假")
    app = fresh(app)
    assert (app.status, app.is_terminal) == ("revoked", True)
    certificate = Certificate.objects.get(application=app)
    assert (certificate.status, certificate.status_changed_at is not None) == ("revoked", True)
    assert last_event(app)[1:] == ("revoke", "certified", "revoked", 1, "leader", world.org["anhui"].pk,
                                   "anhui_leader")
    assert opinions(app)[-1][1:4] == ("certified", "revoke", "经查材料弄虚作假")
    expect_done(app)
    with pytest.raises(E.WrongState):
        svc.application_expire(application_id=app.pk)


def test_expiry(world, django_capture_on_commit_callbacks):
    app = _certified(world, django_capture_on_commit_callbacks, "innovation-driven-county")
    certificate = Certificate.objects.get(application=app)
    # Still valid: the system may not expire it.
    events_before = AuditEvent.objects.filter(application=app).count()
    with pytest.raises(E.WrongState):
        svc.application_expire(application_id=app.pk)
    certificate.refresh_from_db()
    assert (fresh(app).status, certificate.status, AuditEvent.objects.filter(application=app).count()) == (
        "certified", "valid", events_before)

    Certificate.objects.filter(pk=certificate.pk).update(valid_until=timezone.localdate() - dt.timedelta(days=1))
    svc.application_expire(application_id=app.pk)
    app = fresh(app)
    certificate.refresh_from_db()
    assert (app.status, certificate.status) == ("expired", "expired")
    assert last_event(app) == (events_before + 1, "expire", "certified", "expired", 1, "system", None, None)
    # A user cannot expire it (the action belongs to the system), and expiry is terminal.
    with pytest.raises(E.WrongState):
        svc.application_revoke(actor=act(world, "anhui_leader"), application_id=app.pk, comment="撤销")
    assert verify_audit()[0] == 0


# ---------------------------------------------------------------------------------------- audit chain


@pytest.fixture
def two_audited(world):
    first = to_province_check(world, create(world, "society-service-station"), "langya")
    second = to_province_check(world, create(world, "innovation-driven-county", county="nanqiao"), "nanqiao")
    return first, second


def test_verify_audit_passes_on_intact_chains(two_audited):
    first, second = two_audited
    total = AuditEvent.objects.count()
    assert total == AuditEvent.objects.filter(application=first).count() + \
        AuditEvent.objects.filter(application=second).count()
    assert verify_audit() == (0, f"{total} 条审计记录，全部链完整；尚无签名摘要，未与库外摘要比对", "")
    # The application row holds the head of its chain.
    for app in (first, second):
        app = fresh(app)
        head = AuditEvent.objects.filter(application=app).order_by("-seq").first()
        assert (app.audit_seq, app.audit_head) == (head.seq, head.hash)


def test_verify_audit_detects_a_tampered_row(two_audited):
    _first, second = two_audited
    victim = AuditEvent.objects.get(application=second, action="submit")
    with pytest.raises(PermissionError):
        victim.save()
    AuditEvent.objects.filter(pk=victim.pk).update(comment="事后改动")
    assert verify_audit() == (
        1, "", f"申报 {second.pk}：第 {victim.seq} 条审计记录（id={victim.pk}）内容被改动")


def test_verify_audit_detects_a_tampered_status(two_audited):
    first, _second = two_audited
    victim = AuditEvent.objects.get(application=first, action="sign_off")
    AuditEvent.objects.filter(pk=victim.pk).update(to_status="province_check")
    assert verify_audit() == (
        1, "", f"申报 {first.pk}：第 {victim.seq} 条审计记录（id={victim.pk}）内容被改动")


def test_verify_audit_detects_a_deleted_row(two_audited):
    first, _second = two_audited
    victim = AuditEvent.objects.get(application=first, action="submit")
    following = AuditEvent.objects.get(application=first, seq=victim.seq + 1)
    with pytest.raises(PermissionError):
        victim.delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [victim.pk])
    assert verify_audit() == (
        1, "", f"申报 {first.pk}：第 {victim.seq} 条审计记录缺失（下一条为第 {following.seq} 条，id={following.pk}）")


def test_verify_audit_detects_a_deleted_last_row(two_audited):
    _first, second = two_audited
    victim = AuditEvent.objects.filter(application=second).order_by("-seq").first()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [victim.pk])
    n = victim.seq
    assert verify_audit() == (
        1, "", f"申报 {second.pk}：记录链末尾与申报不符（应有 {n} 条，实有 {n - 1} 条），第 {n} 条起缺失或被改动")
