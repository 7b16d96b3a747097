"""Task lists of a user: inbox (assigned to them), queue (open in one of their role pools), archive."""
from django.db.models import Q, QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from approvals import access
from orgs.access import principal_of

from .nodes import POOL_PERMISSION


def pool_condition(user) -> Q:
    """Tasks of the pools (organization, role) the user belongs to or acts for (代办) today."""
    condition = Q(pk__in=[])
    for seat in principal_of(user).seats:
        condition |= Q(owner_permission=POOL_PERMISSION.format(role=seat.role),
                       owner_permission_obj_pk=str(seat.organization_id))
    return condition


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


def user_in_pool(*, user, task) -> bool:
    if not task.owner_permission or not task.owner_permission.startswith("orgs.pool_"):
        return False
    role = task.owner_permission.removeprefix("orgs.pool_")
    return principal_of(user).seat(int(task.owner_permission_obj_pk), role) is not None
