"""A human-task node whose task goes to an organization's role pool and whose next node is chosen by the
application's status after the approvals service has moved it.

viewflow's Switch gateway would do the routing too, but costs a task row and three queries per step; the
route table here keeps every edge visible in the process chart while routing in memory.
"""
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from viewflow import this
from viewflow.workflow.activation import Activation
from viewflow.workflow.base import Edge
from viewflow.workflow.flow import View
from viewflow.workflow.nodes.view import ViewActivation
from viewflow.workflow.status import STATUS

from approvals.models import APPLICANT
from orgs.models import Level, Organization

from .deadlines import task_deadline_create

POOL_PERMISSION = "orgs.pool_{role}"


def pool_organization_id(application, level: str) -> int:
    """The organization whose role pool acts: the applicant itself or its ancestor at `level`."""
    if level == APPLICANT:
        return application.applicant_id
    return {Level.CITY: application.city_id, Level.PROVINCE: application.province_id}[level]


def link_previous(task, previous_task) -> None:
    """One INSERT for the edge between two tasks (the related manager's add() reads first)."""
    through = type(task).previous.through
    through.objects.bulk_create([through(from_task_id=task.pk, to_task_id=previous_task.pk)])


class StageActivation(ViewActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        task = flow_task.flow_class.task_class(process=prev_activation.process, flow_task=flow_task, token=token)
        task.data = data if data is not None else {}
        task.seed = seed
        application = prev_activation.process.application
        if task.data.get("owner"):
            task.owner_id = task.data["owner"]
            task.status = STATUS.ASSIGNED
            task.assigned = timezone.now()
        else:
            role, level = flow_task.pool
            task.owner_permission = POOL_PERMISSION.format(role=role)
            task.owner_permission_content_type = ContentType.objects.get_for_model(Organization)
            task.owner_permission_obj_pk = str(pool_organization_id(application, level))
        task.save()
        link_previous(task, prev_activation.task)
        role, level = flow_task.pool
        task_deadline_create(
            task=task, application=application, organization_id=pool_organization_id(application, level), role=role
        )
        return cls(task)

    @Activation.status.transition(source=STATUS.DONE)
    def create_next(self):
        application = self.process.application
        yield from self.flow_task.next_nodes(self, application)


class StageView(View):
    """A human task of one stage. `pool` = (role, level); `.Route({status: node})` picks the next node."""

    activation_class = StageActivation

    def __init__(self, view, *, pool, **kwargs):
        super().__init__(view, **kwargs)
        self.pool = pool
        self._routes = {}

    def Route(self, routes: dict):  # noqa: N802 - viewflow's builder style
        self._routes = routes
        return self

    def _resolve(self, instance):
        super()._resolve(instance)
        self._routes = {
            status: this.resolve(instance, node) if node is not None else None for status, node in self._routes.items()
        }

    def _outgoing(self):
        seen = set()
        for node in self._routes.values():
            if node is not None and node not in seen:
                seen.add(node)
                yield Edge(src=self, dst=node, edge_class="next")

    def can_assign(self, user, task):
        from .selectors import user_in_pool

        # Only a task that still waits in its pool: a cancelled or finished one is nobody's to take.
        return (task.status == STATUS.NEW and not task.owner_id and user.is_authenticated
                and user_in_pool(user=user, task=task))

    def can_execute(self, user, task):
        return task.owner_id == user.pk

    def next_nodes(self, activation, application):
        node = self._routes[application.status]
        if node is not None:  # None ends this parallel branch (see the expert scores)
            yield node._create(activation, activation.task.token)
