"""A model-based test of the engine (Hypothesis RuleBasedStateMachine) over the services.

Random sequences of actions by random users of random organizations — owners and outsiders, with
memberships that expire, delegations, returns, objections, revocations, expiry and clock moves — and after
every step the invariants that must hold whatever happened:

- every application's status agrees with the viewflow tasks open for it;
- every audit chain is valid, its head is its last event and its status is the last event's;
- no city's quota is exceeded;
- certificate numbers are unique and gap-free in each sequence;
- a refused action changed nothing (the tables it could touch are compared before and after);
- every outbox effect is delivered exactly once: the worker's rule hands pending effects to their Celery
  tasks (in process), some of them twice as a redelivered message would; a second delivery changes
  nothing, a done effect stays done as it was, no two effects of one kind and key are pending at once,
  and what a done effect did exists exactly once (one certificate per application, one notification job
  per event, a stored PDF per rendered certificate).

tests/approvals/test_stateful.py runs a bounded number of examples in CI; bench/stateful.py runs thousands
and prints `stateful_examples=` and `invariant_violations=`.
"""
import datetime as dt
import hashlib

import time_machine
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.module_loading import import_string
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, precondition, rule
from viewflow.workflow.status import STATUS

from approvals import errors as E
from approvals import services as svc
from approvals.models import (
    RECOMMENDED_STATUSES,
    Application,
    AuditEvent,
    BatchQuota,
    ExpertAssignment,
    Opinion,
    Status,
)
from approvals.outbox import EFFECTS, Effect
from approvals.selectors import audit_verify
from approvals.stages import STAGES
from orgs.models import Membership, Role
from printing.models import Certificate
from printing.services import certificate_pdf_path
from workflows.delegations import delegation_create
from workflows.flows import ApplicationFlow
from workflows.timers import notice_timers_fire

from .chain import act, create

PROGRAM = "society-service-station"
COUNTIES = ("langya", "nanqiao", "yaohai")
# Everyone who might try an action: the owners of every stage and outsiders (another province, siblings).
PEOPLE = (
    "langya_clerk", "langya_leader", "nanqiao_clerk", "nanqiao_leader", "yaohai_clerk", "yaohai_leader",
    "chuzhou_reviewer", "chuzhou_leader", "hefei_reviewer", "anhui_reviewer", "anhui_leader", "anhui_expert",
    "anhui_expert2", "anhui_admin", "anhui_auditor", "sichuan_reviewer", "sichuan_expert", "pidu_clerk",
)
ACTIONS = ("submit", "sign_off", "recommend", "return", "decline", "accept", "assign_experts", "score",
           "decide", "publish_notice", "object", "approve", "issue_certificate", "revoke", "withdraw")
OPEN = [STATUS.NEW, STATUS.ASSIGNED, STATUS.SCHEDULED]

# The human or timer nodes that are open in each status (the flow's side of "one source of truth").
EXPECTED_NODES = {
    Status.DRAFT: {"edit"}, Status.APPLICANT_SIGNOFF: {"sign_off"}, Status.CITY_REVIEW: {"review_in_city"},
    Status.PROVINCE_CHECK: {"check_in_province"}, Status.DECISION: {"decide"},
    Status.APPROVED: {"issue_certificate"},
}


def _call(action: str, actor, application_id: int, data):
    comment = data.draw(st.sampled_from(["", "意见"]))
    if action == "assign_experts":
        ids = data.draw(st.sampled_from([["anhui_expert", "anhui_expert2"], ["anhui_expert"],
                                         ["anhui_expert", "sichuan_expert"]]))
        return svc.application_assign_experts(actor=actor, application_id=application_id,
                                              expert_ids=[WORLD.user[u].pk for u in ids])
    if action == "score":
        score = data.draw(st.sampled_from(["80", "99.95", "100", "-1", "abc"]))
        return svc.application_score(actor=actor, application_id=application_id, score=score, comment=comment)
    if action == "decide":
        return svc.application_decide(actor=actor, application_id=application_id,
                                      approve=data.draw(st.booleans()), comment=comment)
    if action == "object":
        return svc.application_object(actor=actor, application_id=application_id, comment=comment,
                                      upheld=data.draw(st.booleans()))
    if action == "publish_notice":
        return svc.application_publish_notice(actor=actor, application_id=application_id)
    if action == "issue_certificate":
        return svc.application_issue_certificate(actor=actor, application_id=application_id)
    service = getattr(svc, f"application_{action}")
    return service(actor=actor, application_id=application_id, comment=comment)


def snapshot() -> tuple:
    """What any action could change: statuses, revisions, events, opinions, assignments, certificates,
    tasks (a refused action must leave every one as it was)."""
    from viewflow.workflow.models import Task

    return (
        sorted(Application.objects.values_list("pk", "status", "revision", "audit_seq", "notice_starts_on")),
        AuditEvent.objects.count(), Opinion.objects.count(),
        sorted(ExpertAssignment.objects.values_list("pk", "scored_at")),
        Certificate.objects.count(),
        sorted(Task.objects.values_list("pk", "status")),
    )


def _next_step(application) -> tuple[str, str] | None:
    """(who, action) that moves the application on in its stage, as its owner would."""
    county = next(c for c in COUNTIES if WORLD.org[c].pk == application.applicant_id)
    if application.status == Status.EXPERT_REVIEW:
        assignments = ExpertAssignment.objects.filter(application=application, revision=application.revision)
        unscored = assignments.filter(scored_at__isnull=True).select_related("expert").first()
        if not assignments.exists():
            return "anhui_reviewer", "assign_experts"
        return (unscored.expert.username, "score") if unscored else None
    if application.status == Status.PUBLIC_NOTICE:
        return ("anhui_leader", "approve") if application.notice_starts_on else ("anhui_reviewer", "publish_notice")
    return {
        Status.DRAFT: (f"{county}_clerk", "submit"), Status.APPLICANT_SIGNOFF: (f"{county}_leader", "sign_off"),
        Status.CITY_REVIEW: ("chuzhou_reviewer", "recommend"), Status.PROVINCE_CHECK: ("anhui_reviewer", "accept"),
        Status.DECISION: ("anhui_leader", "decide"),
    }.get(application.status)


def _effects() -> tuple:
    """The outbox and what its effects make: notifications, e-mails, certificates and their PDFs."""
    from workflows.models import EmailOutbox, Notification

    return (
        sorted(Effect.objects.values_list("pk", "kind", "key", "done_at", "attempts", "failed_at")),
        sorted(Notification.objects.values_list("pk", "dedup_key")),
        sorted(EmailOutbox.objects.values_list("pk", "sent_at")),
        sorted(Certificate.objects.values_list("pk", "status", "pdf_sha256")),
    )


WORLD = None  # set by the test: the organizations, users and programs, built once


class EngineMachine(RuleBasedStateMachine):
    applications = Bundle("applications")
    examples_run = 0  # counted across the examples of one run (bench/stateful.py reports it)
    steps_run = 0
    deliveries = 0  # effects handed to their tasks, redeliveries included

    def __init__(self):
        super().__init__()
        # Each example runs in a savepoint that is rolled back at its end: the world stays as it was built.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._travel = None
        self._now = timezone.now()
        WORLD.batches = {}  # batches made by an earlier example were rolled back with it
        self.refused = 0
        self.done = 0
        self.effects_done = {}  # effect id → (kind, key, done_at) when first seen done

    def teardown(self):
        EngineMachine.examples_run += 1
        if self._travel is not None:
            self._travel.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --------------------------------------------------------------------------------------- actions

    @rule(target=applications, county=st.sampled_from(COUNTIES))
    def create_application(self, county):
        WORLD.batch(PROGRAM, quota=2)
        before = snapshot()
        try:
            with transaction.atomic():
                return create(WORLD, PROGRAM, county=county).pk
        except E.ApprovalError:  # the clerk's membership has expired
            assert snapshot() == before
            return multiple()

    @rule(application_id=applications, who=st.sampled_from(PEOPLE), action=st.sampled_from(ACTIONS), data=st.data())
    def act(self, application_id, who, action, data):
        before = snapshot()
        try:
            with transaction.atomic():
                _call(action, act(WORLD, who), application_id, data)
        except E.ApprovalError:
            assert snapshot() == before, (who, action)
            self.refused += 1
        else:
            self.done += 1

    @rule(application_id=applications, data=st.data())
    def owner_advances(self, application_id, data):
        """The stage's owner does what the stage asks (random people alone seldom get far)."""
        step = _next_step(Application.objects.select_related("applicant").get(pk=application_id))
        if step is None:
            return
        who, action = step
        self.act(application_id, who, action, data)

    @rule(who=st.sampled_from(PEOPLE))
    def membership_expires(self, who):
        Membership.objects.filter(user=WORLD.user[who]).update(valid_until=timezone.localdate() - dt.timedelta(days=1))

    @rule(to=st.sampled_from(["hefei_reviewer", "chuzhou_leader", "langya_clerk"]), days=st.integers(0, 5))
    def reviewer_delegates(self, to, days):
        today = timezone.localdate()
        try:
            with transaction.atomic():
                delegation_create(
                    actor=act(WORLD, "chuzhou_reviewer"), delegator=WORLD.user["chuzhou_reviewer"],
                    delegate=WORLD.user[to], organization=WORLD.org["chuzhou"], role=Role.REVIEWER,
                    starts_on=today, ends_on=today + dt.timedelta(days=days), reason="出差",
                )
        except E.ApprovalError:
            pass  # the reviewer's own membership has expired: nothing to delegate

    @rule(days=st.sampled_from([1, 3, 10, 40, 400, 1200]))
    def clock_moves(self, days):
        if self._travel is not None:
            self._travel.stop()
        self._now += dt.timedelta(days=days)
        self._travel = time_machine.travel(self._now, tick=False)
        self._travel.start()

    @rule()
    def notice_timers(self):
        notice_timers_fire()

    @rule()
    def worker_issues_certificates(self):
        for pk in Application.objects.filter(status=Status.APPROVED).values_list("pk", flat=True):
            svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=pk)

    @precondition(lambda self: Effect.objects.filter(done_at__isnull=True, failed_at__isnull=True).exists())
    @rule(data=st.data())
    def worker_delivers_effects(self, data):
        """The relay hands up to three pending effects to their tasks; a message may come twice."""
        pending = list(Effect.objects.filter(done_at__isnull=True, failed_at__isnull=True).order_by("pk")[:3])
        for effect in pending:
            task = import_string(EFFECTS[effect.kind].task)
            task(*effect.args, **effect.kwargs, effect_id=effect.pk)
            EngineMachine.deliveries += 1
            if data.draw(st.booleans(), label=f"redeliver {effect.kind}"):
                effect.refresh_from_db()
                before = (snapshot(), _effects())
                task(*effect.args, **effect.kwargs, effect_id=effect.pk)
                EngineMachine.deliveries += 1
                if effect.done_at is not None:
                    assert (snapshot(), _effects()) == before, f"a second delivery of {effect} did the work again"

    @precondition(lambda self: Application.objects.filter(status=Status.CERTIFIED).exists())
    @rule()
    def expiry(self):
        for cert in Certificate.objects.filter(application__status=Status.CERTIFIED,
                                               valid_until__lt=timezone.localdate()):
            svc.application_expire(application_id=cert.application_id)

    # ------------------------------------------------------------------------------------ invariants

    @invariant()
    def status_agrees_with_the_open_tasks(self):
        EngineMachine.steps_run += 1
        tasks = {}
        for process_id, name in ApplicationFlow.task_class._default_manager.filter(status__in=OPEN).values_list(
                "process_id", "flow_task"):
            tasks.setdefault(process_id, set()).add(name.name if hasattr(name, "name") else str(name).split(".")[-1])
        for app in Application.objects.only("pk", "status", "process_id", "notice_starts_on", "revision"):
            open_nodes = tasks.get(app.process_id, set())
            if app.status in EXPECTED_NODES:
                assert open_nodes == EXPECTED_NODES[app.status], (app.pk, app.status, open_nodes)
            elif app.status == Status.EXPERT_REVIEW:
                unscored = ExpertAssignment.objects.filter(application=app, revision=app.revision,
                                                           scored_at__isnull=True).count()
                assigned = ExpertAssignment.objects.filter(application=app, revision=app.revision).exists()
                expected = {"score"} if assigned and unscored else ({"assign_experts"} if not assigned else set())
                assert open_nodes == expected, (app.pk, app.status, open_nodes)
            elif app.status == Status.PUBLIC_NOTICE:
                expected = {"wait_notice", "uphold_objection"} if app.notice_starts_on else {"publish_notice"}
                assert open_nodes == expected, (app.pk, app.status, open_nodes)
            else:
                assert open_nodes == set(), (app.pk, app.status, open_nodes)
            assert app.status in STAGES or app.is_terminal

    @invariant()
    def audit_chains_hold(self):
        ok, message = audit_verify(check_age=False)
        assert ok, message
        for app in Application.objects.only("pk", "status", "audit_seq", "audit_head"):
            last = AuditEvent.objects.filter(application_id=app.pk).order_by("-seq").first()
            assert last is not None and (last.seq, last.hash, last.to_status) == (app.audit_seq, app.audit_head,
                                                                                  app.status)

    @invariant()
    def no_quota_is_exceeded(self):
        used = (Application.objects.filter(status__in=list(RECOMMENDED_STATUSES))
                .values("batch_id", "city_id").annotate(n=Count("pk")))
        quotas = {(q.batch_id, q.city_id): q.quota for q in BatchQuota.objects.all()}
        for row in used:
            assert row["n"] <= quotas[(row["batch_id"], row["city_id"])], row

    @invariant()
    def every_effect_is_delivered_once(self):
        pending = (Effect.objects.filter(done_at__isnull=True).values("kind", "key").annotate(n=Count("pk"))
                   .filter(n__gt=1))
        assert not pending.exists(), list(pending)
        done = {pk: (kind, key, at) for pk, kind, key, at in
                Effect.objects.filter(done_at__isnull=False).values_list("pk", "kind", "key", "done_at")}
        for pk, seen in self.effects_done.items():
            assert done.get(pk) == seen, f"effect {pk} {seen} was done again or is gone: {done.get(pk)}"
        self.effects_done.update(done)
        for kind, key, _at in done.values():
            if kind == "certificate_issue":
                assert Certificate.objects.filter(application_id=int(key)).count() <= 1, key
            elif kind == "certificate_render":
                certificate = Certificate.objects.get(pk=int(key))
                if certificate.pdf_sha256:
                    stored = certificate_pdf_path(certificate).read_bytes()
                    assert hashlib.sha256(stored).hexdigest() == certificate.pdf_sha256, key

    @invariant()
    def certificate_numbers_are_gap_free(self):
        for row in Certificate.objects.values("sequence_id").annotate(n=Count("pk"), top=Max("seq")):
            assert row["n"] == row["top"], row
        assert Certificate.objects.values("number").distinct().count() == Certificate.objects.count()
