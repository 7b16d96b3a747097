"""Task lists of a user: inbox (assigned to them), queue (open in one of their role pools), archive."""
from django.contrib.auth import get_user_model
from django.db.models import IntegerField, Q, QuerySet, Subquery
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


class _Size(Subquery):
    """The number of rows of a queryset, as one column of another statement."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) size)"
    output_field = IntegerField()


def task_counts(*, user, archive: bool = True) -> dict[str, int]:
    """The sizes of task_inbox, task_queue and (unless archive=False) task_archive in one statement: a
    count of each list's own condition as a column (each served by its index: the owner's, or the pool
    index with the status, which holds the columns the scope's join needs). One count over an OR of the
    conditions, filtered per list, could not use the pool index alone: it read every pool task's row."""
    tasks = _tasks(user).order_by()
    mine = tasks.filter(owner=user)
    sizes = {"inbox": _Size(mine.filter(status=STATUS.ASSIGNED).values("pk"))}
    if archive:
        sizes["archive"] = _Size(mine.filter(finished__isnull=False).values("pk"))
    if principal_of(user).seats:  # a person without seats has an empty queue
        sizes["queue"] = _Size(tasks.filter(pool_condition(user), status=STATUS.NEW).values("pk"))
    found = get_user_model().objects.filter(pk=user.pk).values(**sizes).first() or {}
    # A list that can hold nothing (no scope at all) compiles to NULL rather than to a count.
    return {"queue": 0, **{name: found.get(name) or 0 for name in sizes}}


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
