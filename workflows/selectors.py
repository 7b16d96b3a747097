"""Task lists of a user: inbox (assigned to them), queue (open in one of their role pools), archive."""
import functools
import operator

from django.db.models import Count, Q, QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from approvals import access
from orgs.access import principal_of

from .nodes import POOL_PERMISSION


def pool_condition(user) -> Q:
    """Tasks of the pools (organization, role) the user belongs to or acts for (代办) today."""
    condition = Q(pk__in=[])
    for seat in principal_of(user).seats:
        condition |= _pool_q(seat)
    return condition


def _pool_q(seat) -> Q:
    return Q(owner_permission=POOL_PERMISSION.format(role=seat.role), owner_permission_obj_pk=str(seat.organization_id))


def _tasks(user) -> QuerySet:
    """Human tasks of applications the user may see now (approvals.access): a task assigned to someone
    whose membership has ended leaves their lists with the application."""
    return Task.objects.filter(
        access.application_scope_q(principal_of(user), prefix="process__application__"), flow_task_type="HUMAN",
    ).select_related("process", "process__application")


def task_inbox(*, user) -> QuerySet:
    return _tasks(user).filter(owner=user, status=STATUS.ASSIGNED).order_by("-created")


def task_queue(*, user) -> QuerySet:
    return _tasks(user).filter(pool_condition(user), status=STATUS.NEW).order_by("-created")


def task_archive(*, user) -> QuerySet:
    return _tasks(user).filter(owner=user, finished__isnull=False).order_by("-finished")


def task_counts(*, user, archive: bool = True) -> dict[str, int]:
    """The sizes of task_inbox, task_queue and (unless archive=False) task_archive in one statement: one
    count each, filtered in the aggregate, over the tasks that the condition of one of them selects (each
    term of that OR served by an index: the owner's, and the pool index with the status)."""
    seats = principal_of(user).seats
    mine = Q(owner=user)
    inbox = mine & Q(status=STATUS.ASSIGNED)
    counts = {"inbox": Count("pk", filter=inbox)}
    condition = inbox
    if archive:
        counts["archive"] = Count("pk", filter=mine & Q(finished__isnull=False))
        condition = mine
    if seats:  # a person without seats has an empty queue
        # (pool 1 and NEW) or (pool 2 and NEW) …: every term is one seek of the pool index
        queue = functools.reduce(operator.or_, (_pool_q(seat) & Q(status=STATUS.NEW) for seat in seats))
        counts["queue"] = Count("pk", filter=queue)
        condition |= queue
    found = _tasks(user).filter(condition).order_by().aggregate(**counts)
    return {"queue": 0, **found}


class TaskCounts:
    """The inbox's and the queue's sizes (task_counts without the archive), read when the first of them is
    asked for, then kept for the request."""

    def __init__(self, user):
        self.user, self._counts = user, None

    def __getitem__(self, name: str) -> int:
        if self._counts is None:
            self._counts = task_counts(user=self.user, archive=False)
        return self._counts[name]


class TaskBadge:
    """One of TaskCounts as viewflow's menu template reads its `user_inbox` and `user_queue` querysets:
    `{{ user_inbox.count }}`."""

    def __init__(self, counts: TaskCounts, name: str):
        self.counts, self.name = counts, name

    def count(self) -> int:
        return self.counts[self.name]


def user_in_pool(*, user, task) -> bool:
    if not task.owner_permission or not task.owner_permission.startswith("orgs.pool_"):
        return False
    role = task.owner_permission.removeprefix("orgs.pool_")
    return principal_of(user).seat(int(task.owner_permission_obj_pk), role) is not None
