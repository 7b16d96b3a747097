"""Due dates of human tasks, and the sweep that reminds before them and escalates after them.

A task's due date is fixed when the task is created: the program's time limit for the stage
(Program.stage_time_limits, in working days) counted on the working-day calendar from the day the
application entered the stage. The sweep (`deadlines_sweep`, run by Celery beat and by
`manage.py run_deadlines --now DATE`) reminds `DEADLINE_REMINDER_WORKDAYS` working days before the due
date and tells the organization's leaders once the date has passed. Each reminder and each escalation
happens once per task: a conditional UPDATE of `reminded_at` / `escalated_at` claims it in the same
transaction that writes the notifications.
"""
import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from viewflow.workflow.status import STATUS

from approvals.models import Application, Stage, Status
from orgs.access import pool_members
from orgs.models import Role
from orgs.selectors import person_label

from .models import NotificationKind, TaskDeadline
from .notifications import Message, application_url, notifications_create, queue_emails
from .workdays import WEEKDAY_NAMES, add_workdays, due_date_info, workdays_between

logger = logging.getLogger(__name__)

# Nodes without a time limit: the objection task of the public notice is only worked if one is raised.
UNTIMED_NODES = frozenset({"uphold_objection"})
OPEN_TASK_STATUSES = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)
DEFAULT_REMINDER_WORKDAYS = 2


def reminder_workdays() -> int:
    return int(getattr(settings, "DEADLINE_REMINDER_WORKDAYS", DEFAULT_REMINDER_WORKDAYS))


def _day(value: dt.date) -> str:
    return f"{value:%Y-%m-%d}（星期{WEEKDAY_NAMES[value.weekday()]}）"


# ------------------------------------------------------------------------------------------- creating


def _deadline(*, task, application, organization_id: int, role: str) -> TaskDeadline | None:
    if task.flow_task.name in UNTIMED_NODES:
        return None
    stage = application.status
    limit = (application.program.stage_time_limits or {}).get(stage)
    if not limit:
        return None
    entered = application.stage_entered_at or timezone.now()
    starts_on = timezone.localtime(entered).date() if timezone.is_aware(entered) else entered.date()
    due_on, estimate = due_date_info(starts_on, int(limit))
    return TaskDeadline(
        task=task, application_id=application.pk, stage=stage, organization_id=organization_id, role=role,
        starts_on=starts_on, workdays=int(limit), due_on=due_on, is_estimate=estimate,
    )


def task_deadline_create(*, task, application, organization_id: int, role: str) -> TaskDeadline | None:
    """Fix the due date of a new human task (one INSERT; none for a stage without a time limit)."""
    deadline = _deadline(task=task, application=application, organization_id=organization_id, role=role)
    if deadline is not None:
        deadline.save()
    return deadline


def task_deadlines_create(*, tasks, application, organization_id: int, role: str) -> list[TaskDeadline]:
    """The due dates of several new tasks of one stage and pool, in one INSERT."""
    deadlines = [d for d in (_deadline(task=t, application=application, organization_id=organization_id,
                                       role=role) for t in tasks) if d is not None]
    return TaskDeadline.objects.bulk_create(deadlines) if deadlines else []


# ------------------------------------------------------------------------------------------ selectors


def application_open_deadlines(*, application_id: int) -> list[TaskDeadline]:
    """The due dates of an application's open tasks, earliest first (one query)."""
    return list(TaskDeadline.objects.filter(application_id=application_id, task__status__in=OPEN_TASK_STATUSES)
                .order_by("due_on", "pk"))


def open_task_deadlines(*, task_ids) -> dict[int, TaskDeadline]:
    """{task id: deadline} for a page of tasks, in one query (the inbox shows each task's due date)."""
    return {d.task_id: d for d in TaskDeadline.objects.filter(task_id__in=list(task_ids))}


# -------------------------------------------------------------------------------------------- the sweep


@dataclass(frozen=True)
class SweepResult:
    reminded: int
    escalated: int


def _labels(deadline: TaskDeadline) -> tuple[str, str, str]:
    application = deadline.application
    return application.subject_name, application.program.name_zh, Stage(deadline.stage).label


def _notify_once(deadline: TaskDeadline, *, field: str, users, message: Message) -> bool:
    """Claim `field` on the deadline and write the notifications in one transaction; False if already done."""
    with transaction.atomic():
        claimed = TaskDeadline.objects.filter(pk=deadline.pk, **{f"{field}__isnull": True}).update(
            **{field: timezone.now()}
        )
        if not claimed:
            return False
        try:
            with transaction.atomic():
                ids = notifications_create(
                    batches=[(users, message)], key=f"task{deadline.task_id}", application=deadline.application
                )
        except IntegrityError:
            # The notifications exist already (the claim was cleared by hand): nothing more to send.
            logger.warning("deadline %s: %s notifications existed already", deadline.pk, field)
            return False
        queue_emails(ids)
    return True


def deadline_remind(*, deadline: TaskDeadline, today: dt.date) -> bool:
    subject, program, stage = _labels(deadline)
    left = workdays_between(today, deadline.due_on)
    if left > 0:
        title, when = f"即将到期：{subject}（{stage}）", f"还剩 {left} 个工作日"
    elif left == 0:
        title, when = f"今日到期：{subject}（{stage}）", "今天是最后一个工作日"
    else:
        title, when = f"已逾期：{subject}（{stage}）", f"已逾期 {-left} 个工作日"
    estimate = "（估算：该年节假日安排尚未录入）" if deadline.is_estimate else ""
    body = f"“{program}”申报“{subject}”的“{stage}”环节办理期限为 {_day(deadline.due_on)}{estimate}，{when}，请及时办理。"
    if deadline.task.owner_id:
        users = get_user_model().objects.filter(pk=deadline.task.owner_id, is_active=True)
    else:
        users = pool_members(organization_id=deadline.organization_id, role=deadline.role)
    message = Message(NotificationKind.REMINDER, title, body, application_url(deadline.application_id))
    return _notify_once(deadline, field="reminded_at", users=users, message=message)


def deadline_escalate(*, deadline: TaskDeadline, today: dt.date) -> bool:
    subject, program, stage = _labels(deadline)
    overdue = workdays_between(deadline.due_on, today)
    handler = person_label(deadline.task.owner) if deadline.task.owner_id else f"{deadline.get_role_display()}（未领取）"
    body = (
        f"“{program}”申报“{subject}”的“{stage}”环节办理期限为 {_day(deadline.due_on)}，"
        f"已逾期 {overdue} 个工作日仍未办理。办理单位：{deadline.organization.name}；办理人：{handler}。"
    )
    leaders = pool_members(organization_id=deadline.organization_id, role=Role.LEADER)
    message = Message(NotificationKind.ESCALATION, f"逾期督办：{subject}（{stage}）", body,
                      application_url(deadline.application_id))
    return _notify_once(deadline, field="escalated_at", users=leaders, message=message)


def deadlines_recount() -> int:
    """Count the open tasks' due dates again on the calendar as it stands now, so that a year's holiday
    arrangement entered after a task was created (an estimate until then) or a corrected day moves its
    due date. Pure arithmetic per task plus one bulk update of those that changed; returns their number."""
    changed = []
    for deadline in TaskDeadline.objects.filter(task__status__in=OPEN_TASK_STATUSES).only(
        "pk", "starts_on", "workdays", "due_on", "is_estimate"
    ):
        due_on, estimate = due_date_info(deadline.starts_on, deadline.workdays)
        if (due_on, estimate) != (deadline.due_on, deadline.is_estimate):
            deadline.due_on, deadline.is_estimate = due_on, estimate
            changed.append(deadline)
    TaskDeadline.objects.bulk_update(changed, ["due_on", "is_estimate"], batch_size=500)
    return len(changed)


def deadlines_sweep(*, today: dt.date | None = None) -> SweepResult:
    """Remind and escalate as of `today` (default: today). Safe to run any number of times."""
    today = today or timezone.localdate()
    # A calendar change recounts at once through a task; this catches one whose task was lost.
    recounted = deadlines_recount()
    notices_recount(today=today)
    horizon = add_workdays(today, reminder_workdays())
    open_deadlines = TaskDeadline.objects.filter(task__status__in=OPEN_TASK_STATUSES).select_related(
        "task", "task__owner", "application", "application__program", "organization"
    ).order_by("due_on", "pk")
    reminded = sum(
        deadline_remind(deadline=d, today=today)
        for d in open_deadlines.filter(reminded_at__isnull=True, due_on__lte=horizon)
    )
    escalated = sum(
        deadline_escalate(deadline=d, today=today)
        for d in open_deadlines.filter(escalated_at__isnull=True, due_on__lt=today)
    )
    if reminded or escalated or recounted:
        logger.info("deadlines as of %s: %d reminded, %d escalated, %d due dates recounted",
                    today, reminded, escalated, recounted)
    return SweepResult(reminded=reminded, escalated=escalated)


def notices_recount(*, today: dt.date | None = None) -> int:
    """Count again the end of every public notice still running (its last day not past), on the calendar
    as it stands, and move its flow timer with it: a notice published while the next year was provisional
    ends on the day the State Council's arrangement gives. Returns how many ends moved."""
    from .flows import ApplicationFlow  # the flow's nodes create deadlines: same package, loaded by then

    today = today or timezone.localdate()
    running = (Application.objects.filter(status=Status.PUBLIC_NOTICE, notice_ends_on__gte=today,
                                          notice_starts_on__isnull=False)
               .select_related("batch").only("pk", "process_id", "notice_starts_on", "notice_ends_on",
                                             "batch__notice_workdays"))
    moved = 0
    for application in running:
        ends_on = add_workdays(application.notice_starts_on - dt.timedelta(days=1), application.batch.notice_workdays)
        if ends_on == application.notice_ends_on:
            continue
        with transaction.atomic():
            Application.objects.filter(pk=application.pk, notice_ends_on=application.notice_ends_on).update(
                notice_ends_on=ends_on)
            ApplicationFlow.task_class._default_manager.filter(
                process_id=application.process_id, flow_task=ApplicationFlow.wait_notice, status=STATUS.SCHEDULED,
            ).update(scheduled=timezone.make_aware(dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time.min)))
        logger.info("notice of application %s now ends on %s (was %s)", application.pk, ends_on,
                    application.notice_ends_on)
        moved += 1
    return moved
