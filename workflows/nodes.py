"""A human-task node whose task goes to an organization's role pool and whose next node is chosen by the
application's status after the approvals service has moved it.

viewflow's Switch gateway would do the routing too, but costs a task row and three queries per step; the
route table here keeps every edge visible in the process chart while routing in memory.
"""
import datetime as dt

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from viewflow import this
from viewflow.workflow.activation import Activation
from viewflow.workflow.base import Edge
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.flow import End, SplitFirst, Timer, View
from viewflow.workflow.nodes.end import EndActivation
from viewflow.workflow.nodes.split import SplitFirstActivation
from viewflow.workflow.nodes.timer import TimerActivation
from viewflow.workflow.nodes.view import ViewActivation
from viewflow.workflow.signals import flow_finished, task_finished, task_started
from viewflow.workflow.status import PROCESS, STATUS

from approvals.models import APPLICANT
from orgs.models import Level, Organization

from .deadlines import task_deadline_create, task_deadlines_create

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


def new_task_row(flow_task, prev_activation, token, data=None, seed=None, **fields):
    """The unsaved task row of `flow_task` after `prev_activation`, in the state `fields` give, as every node
    here builds it (flow_task_type as Task.save would set it, since bulk_create does not call save)."""
    task = flow_task.flow_class.task_class(process=prev_activation.process, flow_task=flow_task, token=token,
                                           flow_task_type=flow_task.task_type, **fields)
    task.data = data if data is not None else {}
    task.seed = seed
    return task


def insert_task(task, prev_activation):
    """Write a new task row and its edge from the previous task: two INSERTs."""
    task.save()
    link_previous(task, prev_activation.task)
    return task


class StageActivation(ViewActivation):
    @classmethod
    def _new_task(cls, flow_task, prev_activation, token, data=None, seed=None):
        task = new_task_row(flow_task, prev_activation, token, data, seed)
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
        return task

    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        task = insert_task(cls._new_task(flow_task, prev_activation, token, data, seed), prev_activation)
        application = prev_activation.process.application
        role, level = flow_task.pool
        task_deadline_create(
            task=task, application=application, organization_id=pool_organization_id(application, level), role=role
        )
        return cls(task)

    @classmethod
    def create_many(cls, flow_task, prev_activation, items: list[tuple[str, dict]]) -> list:
        """Several tasks of one node at once, (token, data) each (the experts' scoring tasks): the tasks,
        their edges and their deadlines are one INSERT each (bulk_create returns the ids on PostgreSQL and
        SQLite), where create() would take three per task."""
        if not items:
            return []
        task_class = flow_task.flow_class.task_class
        tasks = task_class._default_manager.bulk_create(
            [cls._new_task(flow_task, prev_activation, token, data) for token, data in items])
        through = task_class.previous.through
        through.objects.bulk_create([through(from_task_id=task.pk, to_task_id=prev_activation.task.pk)
                                     for task in tasks])
        application = prev_activation.process.application
        role, level = flow_task.pool
        task_deadlines_create(tasks=tasks, application=application,
                              organization_id=pool_organization_id(application, level), role=role)
        return [cls(task) for task in tasks]

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


# ------------------------------------------------------------------- viewflow's nodes with fewer writes
#
# The same nodes as viewflow's SplitFirst, Timer and End, with the same states and signals, that write each
# new task once: viewflow inserts the row and then updates it in a second statement (inside a savepoint for
# Timer and End), and SplitFirst reads its own task and each sibling's process again when a branch finishes.


class NoticeSplitActivation(SplitFirstActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        """The split's task is inserted already started (viewflow inserts it new, then updates it)."""
        task = insert_task(new_task_row(flow_task, prev_activation, token, data, seed,
                                        status=STATUS.STARTED, started=timezone.now()), prev_activation)
        activation = cls(task)
        # Which branches to open, as the split's activate decides: each whose condition holds.
        activation.next_tasks = [(node, None) for node, cond, _data in flow_task._branches
                                 if not cond or cond(activation)]
        if not activation.next_tasks:
            raise FlowRuntimeError(f"No next task available for {flow_task.name}")
        return activation


class NoticeSplit(SplitFirst):
    """Whichever branch finishes first cancels the others (viewflow's SplitFirst)."""

    activation_class = NoticeSplitActivation

    def on_task_done(self, **signal_kwargs):
        """The split's task and the branches still open in one query, their process the finished task's."""
        task = signal_kwargs["task"]
        outgoing = [edge.dst for edge in self._outgoing()]
        if task.flow_task not in outgoing:
            return
        rows = list(
            self.flow_class.task_class._default_manager.filter(
                process_id=task.process_id, flow_task__in=[self, *outgoing],
            ).exclude(status__in=[STATUS.DONE, STATUS.CANCELED]).exclude(pk=task.pk)
        )
        for row in rows:
            row.process = task.process
        (split_task,) = [row for row in rows if row.flow_task == self and row.status == STATUS.STARTED]
        self._cancel_active_tasks([row for row in rows if row.flow_task in outgoing])
        self.activation_class(split_task).done()


class ScheduledTimerActivation(TimerActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        """The timer's task is inserted already scheduled, its due moment computed first (viewflow inserts
        it new, then updates it in a savepoint)."""
        task = new_task_row(flow_task, prev_activation, token, data, seed, status=STATUS.SCHEDULED)
        activation = cls(task)
        delay = flow_task._delay(activation) if callable(flow_task._delay) else flow_task._delay
        if isinstance(delay, dt.timedelta):
            delay = timezone.now() + delay
        if not isinstance(delay, dt.datetime):
            raise ValueError(f"Timer delay must be a timedelta or datetime, got {delay!r}")
        task.scheduled = delay
        insert_task(task, prev_activation)
        return activation


class ScheduledTimer(Timer):
    """viewflow's database timer (fired by the sweeper through the approve service)."""

    activation_class = ScheduledTimerActivation


class FinishActivation(EndActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        """The end task is inserted done, and the process finished when no other task is open, without a
        savepoint (viewflow's End inserts the task, then updates it and the process in a savepoint)."""
        process = prev_activation.process
        moment = timezone.now()
        task = insert_task(new_task_row(flow_task, prev_activation, token, data, seed,
                                        status=STATUS.DONE, started=moment, finished=moment), prev_activation)
        task_started.send(sender=flow_task.flow_class, process=process, task=task)
        others_open = flow_task.flow_class.task_class._default_manager.filter(
            process=process, finished__isnull=True).exclude(pk=task.pk).exists()
        if not others_open:
            process.status, process.finished = PROCESS.DONE, moment
            process.save(update_fields=["status", "finished"])
        task_finished.send(sender=flow_task.flow_class, process=process, task=task)
        if not others_open:
            flow_finished.send(sender=flow_task.flow_class, process=process, task=task)
        return cls(task)


class Finish(End):
    """The end of the flow (viewflow's End)."""

    activation_class = FinishActivation
