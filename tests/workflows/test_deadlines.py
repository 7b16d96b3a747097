"""Task due dates on the working-day calendar, reminders before them and escalation after them.

Dates are chinesecalendar 1.11.0's 2026 data: Spring Festival holidays 2/15–2/23 with Saturdays 2/14 and
2/28 worked; National Day 10/1–10/7 with Saturday 10/10 worked. The program's limits (fixture
programs.json): 本级审核 5, 市级审核推荐 10, 省级形式审查 10, 专家评审 15 working days.
"""
import datetime as dt

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from approvals import services as svc
from tests.approvals.chain import act, create
from workflows.flows import ApplicationFlow
from workflows.models import EmailOutbox, Notification, TaskDeadline
from workflows.tasks import sweep_deadlines
from workflows.workdays import import_calendar_year

D = dt.date
PROGRAM = "society-service-station"


def deadline_of(application, node) -> TaskDeadline:
    task = Task.objects.get(process_id=application.process_id, flow_task=node, status__in=(STATUS.NEW, STATUS.ASSIGNED))
    return TaskDeadline.objects.get(task=task)


def fields(deadline: TaskDeadline) -> tuple:
    return (deadline.stage, deadline.organization_id, deadline.role, deadline.starts_on, deadline.workdays,
            deadline.due_on, deadline.is_estimate)


def notes(kind) -> list[tuple]:
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", "title"))


def run(day: str, capture) -> str:
    """run_deadlines as of `day`, with the e-mails it queues sent (on commit, eagerly)."""
    from io import StringIO

    out = StringIO()
    with capture(execute=True):
        call_command("run_deadlines", "--now", day, stdout=out)
    return out.getvalue()


# --------------------------------------------------------------------------------------- due dates


@pytest.mark.django_db
def test_due_dates_across_spring_festival(world, clock):
    clock.set(D(2026, 2, 12))  # Thursday before the holidays
    app = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    # 2/13 Fri, 2/14 Sat (worked), holidays 2/15–2/23, then 2/24, 2/25, 2/26.
    assert fields(deadline_of(app, ApplicationFlow.sign_off)) == (
        "applicant_signoff", world.org["langya"].pk, "leader", D(2026, 2, 12), 5, D(2026, 2, 26), False)

    clock.set(D(2026, 2, 13))
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk)
    # 2/14, 2/24–2/27, 2/28 (Sat, worked), 3/2–3/5.
    assert fields(deadline_of(app, ApplicationFlow.review_in_city)) == (
        "city_review", world.org["chuzhou"].pk, "reviewer", D(2026, 2, 13), 10, D(2026, 3, 5), False)


@pytest.mark.django_db
def test_due_dates_across_national_day(world, clock):
    clock.set(D(2026, 9, 28))  # Monday
    app = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    # 9/29, 9/30, holidays 10/1–10/7, 10/8, 10/9 and Saturday 10/10, which is worked.
    assert deadline_of(app, ApplicationFlow.sign_off).due_on == D(2026, 10, 10)

    clock.set(D(2026, 9, 29))
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk)
    # 9/30, 10/8, 10/9, 10/10, 10/12–10/16, 10/19.
    assert fields(deadline_of(app, ApplicationFlow.review_in_city)) == (
        "city_review", world.org["chuzhou"].pk, "reviewer", D(2026, 9, 29), 10, D(2026, 10, 19), False)


@pytest.mark.django_db
def test_due_date_in_a_year_not_yet_published_is_an_estimate(world, clock):
    clock.set(D(2026, 12, 21))
    app = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk)
    # chinesecalendar has no 2027: the law's holidays (元旦 on Friday 1/1) on top of weekends, flagged.
    assert fields(deadline_of(app, ApplicationFlow.review_in_city))[-2:] == (D(2027, 1, 5), True)


@pytest.mark.django_db
def test_entering_the_next_years_arrangement_recounts_open_due_dates(world, clock, tmp_path,
                                                                      django_capture_on_commit_callbacks):
    clock.set(D(2026, 12, 21))
    app = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk)
    # Provisional until 2027 is entered: 12/22–12/25, 12/28–12/31, Monday 1/4 and Tuesday 1/5 (1/1 元旦).
    assert fields(deadline_of(app, ApplicationFlow.review_in_city))[-2:] == (D(2027, 1, 5), True)
    csv = tmp_path / "2027.csv"
    # A made-up arrangement that also gives Monday 1/4 off.
    csv.write_text("2027-01-01,0,元旦\n2027-01-04,0,元旦\n", encoding="utf-8")
    import_calendar_year(2027, csv)
    run("2026-12-22", django_capture_on_commit_callbacks)
    assert fields(deadline_of(app, ApplicationFlow.review_in_city))[-2:] == (D(2027, 1, 6), False)


@pytest.mark.django_db
def test_draft_and_objection_tasks_have_no_deadline(world, clock):
    clock.set(D(2026, 3, 2))
    app = create(world, PROGRAM)
    edit = Task.objects.get(process_id=app.process_id, flow_task=ApplicationFlow.edit)
    assert not TaskDeadline.objects.filter(task=edit).exists()
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    svc.application_return(actor=act(world, "langya_leader"), application_id=app.pk, comment="补充材料")
    assert list(TaskDeadline.objects.filter(application=app).values_list("stage", flat=True)) == ["applicant_signoff"]


@pytest.mark.django_db
def test_each_expert_task_carries_the_stage_due_date(world, clock):
    clock.set(D(2026, 9, 28))
    app = create(world, PROGRAM)
    for username, call in [
        ("langya_clerk", svc.application_submit), ("langya_leader", svc.application_sign_off),
        ("chuzhou_reviewer", svc.application_recommend), ("anhui_reviewer", svc.application_accept),
    ]:
        call(actor=act(world, username), application_id=app.pk)
    experts = [world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk]
    svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=app.pk, expert_ids=experts)
    # The stage was entered on 9/28: 15 working days are 9/29, 9/30, 10/8–10/10, 10/12–10/16, 10/19–10/23.
    rows = TaskDeadline.objects.filter(application=app, stage="expert_review").order_by("task_id")
    assert [(d.task.flow_task, d.task.owner_id, d.due_on) for d in rows] == [
        (ApplicationFlow.assign_experts, world.user["anhui_reviewer"].pk, D(2026, 10, 23)),
        (ApplicationFlow.score, experts[0], D(2026, 10, 23)),
        (ApplicationFlow.score, experts[1], D(2026, 10, 23)),
    ]
    # The scoring tasks are written together: each is a human task assigned to its expert, after the
    # province's assign task, with a token of its own under the split.
    assign_task, *scores = [d.task for d in rows]
    assert [(t.flow_task_type, t.status, list(t.previous.values_list("pk", flat=True))) for t in scores] == [
        ("HUMAN", "ASSIGNED", [assign_task.pk])] * 2
    assert len({str(t.token) for t in scores}) == 2 and all(t.assigned for t in scores)


# -------------------------------------------------------------------------------- reminders, escalation


@pytest.fixture
def in_city_review(world, clock):
    """An application that entered 市级审核推荐 on Thursday 2026-02-12: due Wednesday 2026-03-04."""
    clock.set(D(2026, 2, 12))
    app = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk)
    assert deadline_of(app, ApplicationFlow.review_in_city).due_on == D(2026, 3, 4)
    Notification.objects.all().delete()
    mail.outbox.clear()
    return app


@pytest.mark.django_db
def test_reminder_two_working_days_before_then_escalation_once(world, in_city_review,
                                                               django_capture_on_commit_callbacks):
    app, capture = in_city_review, django_capture_on_commit_callbacks
    # Saturday 2/28 is a working day, and two working days after it is 3/3: not yet.
    assert run("2026-02-28", capture) == "2026-02-28：提醒 0 个任务，督办 0 个任务（提前 2 个工作日提醒）。\n"
    assert Notification.objects.count() == 0

    assert run("2026-03-02", capture).startswith("2026-03-02：提醒 1 个任务，督办 0 个任务")
    title = "即将到期：滁州某某智能装备有限公司（市级审核推荐）"
    assert notes("reminder") == [("chuzhou_reviewer", title)]
    reminder = Notification.objects.get(kind="reminder")
    assert reminder.body == ("“学会服务站”申报“滁州某某智能装备有限公司”的“市级审核推荐”环节办理期限为 "
                             "2026-03-04（星期三），还剩 2 个工作日，请及时办理。")
    assert (reminder.application_id, reminder.url) == (app.pk, f"/approvals/applications/{app.pk}/")
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["chuzhou_reviewer@test.kexie.example"], f"【科协试点申报】{title}")]
    deadline = deadline_of(app, ApplicationFlow.review_in_city)
    assert deadline.reminded_at is not None and deadline.escalated_at is None

    # Run again the same day, and on the due date: nothing new.
    assert run("2026-03-02", capture).startswith("2026-03-02：提醒 0 个任务，督办 0 个任务")
    assert run("2026-03-04", capture).startswith("2026-03-04：提醒 0 个任务，督办 0 个任务")
    assert (Notification.objects.count(), len(mail.outbox)) == (1, 1)

    # The day after the due date the city's leader is told, once.
    assert run("2026-03-05", capture).startswith("2026-03-05：提醒 0 个任务，督办 1 个任务")
    assert notes("escalation") == [("chuzhou_leader", "逾期督办：滁州某某智能装备有限公司（市级审核推荐）")]
    assert Notification.objects.get(kind="escalation").body == (
        "“学会服务站”申报“滁州某某智能装备有限公司”的“市级审核推荐”环节办理期限为 2026-03-04（星期三），"
        "已逾期 1 个工作日仍未办理。办理单位：滁州市科学技术协会；办理人：审核人（未领取）。")
    assert mail.outbox[-1].to == ["chuzhou_leader@test.kexie.example"]
    for day in ("2026-03-05", "2026-03-09"):
        assert run(day, capture).startswith(f"{day}：提醒 0 个任务，督办 0 个任务")
    assert (Notification.objects.count(), EmailOutbox.objects.count(), len(mail.outbox)) == (2, 2, 2)


@pytest.mark.django_db
def test_finished_tasks_are_neither_reminded_nor_escalated(world, in_city_review,
                                                          django_capture_on_commit_callbacks):
    svc.application_recommend(actor=act(world, "chuzhou_reviewer"), application_id=in_city_review.pk)
    Notification.objects.all().delete()
    # Only the province's new task (also entered on 2/12, due 3/4) is late; the city's is done.
    assert run("2026-03-09", django_capture_on_commit_callbacks).startswith("2026-03-09：提醒 1 个任务，督办 1 个任务")
    assert notes("reminder") == [("anhui_reviewer", "已逾期：滁州某某智能装备有限公司（省级形式审查）")]
    assert notes("escalation") == [("anhui_leader", "逾期督办：滁州某某智能装备有限公司（省级形式审查）")]
    assert deadline_of(in_city_review, ApplicationFlow.check_in_province).due_on == D(2026, 3, 4)
    city = TaskDeadline.objects.get(application=in_city_review, stage="city_review")
    assert (city.reminded_at, city.escalated_at) == (None, None)


@pytest.mark.django_db
def test_reminder_days_come_from_the_setting(world, in_city_review, settings, django_capture_on_commit_callbacks):
    settings.DEADLINE_REMINDER_WORKDAYS = 5
    assert run("2026-02-25", django_capture_on_commit_callbacks).startswith("2026-02-25：提醒 0 个任务")
    assert run("2026-02-26", django_capture_on_commit_callbacks).startswith("2026-02-26：提醒 1 个任务")
    assert "还剩 5 个工作日" in Notification.objects.get(kind="reminder").body


@pytest.mark.django_db
def test_assigned_tasks_remind_their_owner_only(world, clock, django_capture_on_commit_callbacks):
    clock.set(D(2026, 9, 28))
    app = create(world, PROGRAM)
    for username, call in [
        ("langya_clerk", svc.application_submit), ("langya_leader", svc.application_sign_off),
        ("chuzhou_reviewer", svc.application_recommend), ("anhui_reviewer", svc.application_accept),
    ]:
        call(actor=act(world, username), application_id=app.pk)
    svc.application_assign_experts(actor=act(world, "anhui_reviewer"), application_id=app.pk,
                                   expert_ids=[world.user["anhui_expert"].pk, world.user["anhui_expert2"].pk])
    svc.application_score(actor=act(world, "anhui_expert"), application_id=app.pk, score=90)
    Notification.objects.all().delete()
    # Due 10/23: the one expert who has not scored is reminded on 10/21 and escalated on 10/24.
    run("2026-10-21", django_capture_on_commit_callbacks)
    assert notes("reminder") == [("anhui_expert2", "即将到期：滁州某某智能装备有限公司（专家评审）")]
    run("2026-10-24", django_capture_on_commit_callbacks)
    assert notes("escalation") == [("anhui_leader", "逾期督办：滁州某某智能装备有限公司（专家评审）")]
    assert "办理人：安徽省科协评审专家2" in Notification.objects.get(kind="escalation").body


@pytest.mark.django_db
def test_beat_task_runs_the_same_sweep(world, in_city_review):
    assert sweep_deadlines.delay("2026-03-05").get() == {"reminded": 1, "escalated": 1}
    assert sweep_deadlines.delay("2026-03-05").get() == {"reminded": 0, "escalated": 0}


def test_run_deadlines_rejects_a_bad_date():
    with pytest.raises(CommandError, match="日期“2026-13-01”格式不对"):
        call_command("run_deadlines", "--now", "2026-13-01")
