"""Task lists of a user: inbox (assigned to them), queue (open in one of their role pools), archive."""
from django.db.models import Q, QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from orgs.access import principal_of

from .nodes import POOL_PERMISSION


def pool_condition(user) -> Q:
    """Tasks of the pools (organization, role) the user belongs to or acts for (代办) today."""
    condition = Q(pk__in=[])
    for seat in principal_of(user).seats:
        condition |= Q(owner_permission=POOL_PERMISSION.format(role=seat.role),
                       owner_permission_obj_pk=str(seat.organization_id))
    return condition


def _tasks() -> QuerySet:
    return Task.objects.filter(flow_task_type="HUMAN").select_related("process", "process__application")


def task_inbox(*, user) -> QuerySet:
    return _tasks().filter(owner=user, status=STATUS.ASSIGNED).order_by("-created")


def task_queue(*, user) -> QuerySet:
    return _tasks().filter(pool_condition(user), status=STATUS.NEW).order_by("-created")


def task_archive(*, user) -> QuerySet:
    return _tasks().filter(owner=user, finished__isnull=False).order_by("-finished")


def user_in_pool(*, user, task) -> bool:
    if not task.owner_permission or not task.owner_permission.startswith("orgs.pool_"):
        return False
    role = task.owner_permission.removeprefix("orgs.pool_")
    return principal_of(user).seat(int(task.owner_permission_obj_pk), role) is not None
