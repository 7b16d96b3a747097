"""Throughput of the lifecycle engine against its two building blocks, in one run on a scratch database.

    DJANGO_SETTINGS_MODULE=config.settings.local .venv/bin/python bench/transitions.py [--n N]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench ... bench/transitions.py [--n N]

SQLite: a temporary database file. PostgreSQL: a `bench_transitions` database created (and dropped at the
end) on the server of DATABASE_URL. The script migrates it, builds the test world, then measures

  (a) N applications through the whole chain with the services; only the transitions are timed and
      counted (submit, sign_off, recommend, accept, assign_experts, score x2, decide, publish_notice,
      approve, issue_certificate: 11 per application; create and attachments are set-up);
  (b) N bare django-fsm transitions with save (Application.withdraw() + save() on drafts);
  (c) N human tasks of a minimal viewflow flow (Start -> View -> End): assign, then start + execute,
      each under the flow's select_for_update lock, as viewflow's own views do.

Every timed call runs under CaptureQueriesContext (the same small overhead for all three). The query
count is every statement Django sends inside the transaction, savepoints included; the transaction's own
BEGIN and COMMIT (which Django logs too) are shown in a separate column only.
The last four lines are machine-readable.
"""
import argparse
import copy
import cProfile
import datetime as dt
import functools
import os
import pstats
import sys
import time
import types
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import scratch_database  # noqa: E402

BENCH_DB = "bench_transitions"
# Django logs the transaction's own BEGIN (SQLite: BEGIN IMMEDIATE) and COMMIT: left out of the count.
TRANSACTION_BOUNDARIES = ("BEGIN", "COMMIT", "ROLLBACK")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="applications / transitions / tasks (default 200)")
    parser.add_argument("--profile", action="store_true", help="cProfile the engine chain, print the top")
    parser.add_argument("--queries", action="store_true", help="print the SQL of each transition of one application")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()


# ------------------------------------------------------------------------------ scratch database


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    # The world has ~60 users; the default PBKDF2 hasher would take most of the set-up time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# ------------------------------------------------------------------------------------ measuring


class Meter:
    """Times and counts the queries of each measured call, grouped by a label."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.cpu = defaultdict(float)  # this process's CPU time (the ORM); the rest is waiting
        self.calls = defaultdict(int)
        self.queries = defaultdict(int)  # statements inside the transaction(s)
        self.statements = defaultdict(int)  # every statement, BEGIN and COMMIT included
        self.sql = {}

    def __call__(self, label, fn, *args, **kwargs):
        from django.db import connection, reset_queries
        from django.test.utils import CaptureQueriesContext

        reset_queries()  # the log keeps at most 9000 entries; a full one would make the capture empty
        with CaptureQueriesContext(connection) as captured:
            start, cpu_start = time.perf_counter(), time.process_time()
            result = fn(*args, **kwargs)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        self.seconds[label] += elapsed
        self.cpu[label] += cpu
        self.calls[label] += 1
        statements = [q["sql"] for q in captured.captured_queries]
        self.statements[label] += len(statements)
        self.queries[label] += sum(1 for sql in statements if not sql.startswith(TRANSACTION_BOUNDARIES))
        self.sql.setdefault(label, statements)
        return result

    @property
    def total_seconds(self):
        return sum(self.seconds.values())

    @property
    def total_calls(self):
        return sum(self.calls.values())

    @property
    def total_queries(self):
        return sum(self.queries.values())


class EngineChain:
    """(a) applications from draft to certificate with the services. `prepare` creates the drafts with
    their attachments (set-up, not measured); `run` takes one through its 11 transitions."""

    code = "collaborative-innovation-base"

    def __init__(self, world, n):
        from django.utils import timezone

        from approvals import services as svc
        from tests.approvals.chain import act

        # Production queues the certificate for a worker on commit; here the worker's own call is
        # measured directly as the last transition instead.
        svc._queue_certificate = lambda application: None
        self.svc, self.world, self.n = svc, world, n
        self.batch = world.batch(self.code, quota=n)
        self.clerk, self.leader = act(world, "langya_clerk"), act(world, "langya_leader")
        self.city, self.province = act(world, "chuzhou_reviewer"), act(world, "anhui_reviewer")
        self.boss = act(world, "anhui_leader")
        self.expert1, self.expert2 = act(world, "anhui_expert"), act(world, "anhui_expert2")
        self.over = (timezone.localdate() - dt.timedelta(days=40), timezone.localdate() - dt.timedelta(days=30))

    def prepare(self):
        from tests.approvals.chain import SUBJECTS, fresh_uscc
        from tests.approvals.conftest import base_form, minimal_pdf

        svc, pks = self.svc, []
        for _ in range(self.n):
            application = svc.application_create(
                actor=self.clerk, batch=self.batch, applicant=self.world.org["langya"],
                subject_name=SUBJECTS[self.code], uscc=fresh_uscc(), division_code=self.world.division["langya"].code,
                form_data=base_form(),
            )
            for kind in self.batch.program.attachment_kinds:
                svc.attachment_add(actor=self.clerk, application_id=application.pk, kind=kind["code"],
                                   name=f"{kind['code']}.pdf", content=minimal_pdf(kind["code"]))
            pks.append(application.pk)
        return pks

    @staticmethod
    def fresh(actor):
        """The actor as a new request would bring it: the user without the memberships cached on it."""
        user = copy.copy(actor.user)
        user.__dict__.pop("_membership_cache", None)
        return type(actor)(user=user, ip=actor.ip)

    def run(self, pk, meter):
        from approvals.models import Application

        svc, fresh = self.svc, self.fresh
        meter("submit", svc.application_submit, actor=fresh(self.clerk), application_id=pk)
        meter("sign_off", svc.application_sign_off, actor=fresh(self.leader), application_id=pk,
              comment="同意上报")
        meter("recommend", svc.application_recommend, actor=fresh(self.city), application_id=pk,
              comment="同意推荐")
        meter("accept", svc.application_accept, actor=fresh(self.province), application_id=pk, comment="材料齐全")
        meter("assign_experts", svc.application_assign_experts, actor=fresh(self.province), application_id=pk,
              expert_ids=[self.expert1.user.pk, self.expert2.user.pk])
        meter("score", svc.application_score, actor=fresh(self.expert1), application_id=pk, score=88)
        meter("score (last)", svc.application_score, actor=fresh(self.expert2), application_id=pk, score="91.5")
        meter("decide", svc.application_decide, actor=fresh(self.boss), application_id=pk, approve=True,
              comment="予以认定")
        meter("publish_notice", svc.application_publish_notice, actor=fresh(self.province), application_id=pk)
        # A notice starts on the day it is published at the earliest: its period is moved into the past
        # (not timed), as if it had been published a month ago and were over now.
        Application.objects.filter(pk=pk).update(notice_starts_on=self.over[0], notice_ends_on=self.over[1])
        meter("approve", svc.application_approve, actor=fresh(self.boss), application_id=pk)
        certificate = meter("issue_certificate", svc.application_issue_certificate, actor=svc.SYSTEM_ACTOR,
                            application_id=pk)
        assert certificate.number, certificate

    def check(self):
        from approvals.models import Application

        assert Application.objects.filter(batch=self.batch, status="certified").count() == self.n


class BareFsm:
    """(b) drafts withdrawn with a plain FSM method call and save, one transaction each."""

    def __init__(self, world, n):
        self.world, self.n = world, n

    def prepare(self):
        from approvals.models import Application, Program
        from tests.approvals.chain import fresh_uscc

        world = self.world
        program = Program.objects.get(code="society-service-station")
        self.batch = world.batch(program.code)
        langya = world.org["langya"]
        Application.objects.bulk_create([
            Application(program=program, batch=self.batch, applicant=langya, applicant_path=langya.path,
                        city=world.org["chuzhou"], province=world.org["anhui"], subject_name=f"基线{i}",
                        uscc=fresh_uscc(), division=world.division["langya"], created_by=world.user["langya_clerk"])
            for i in range(self.n)
        ])
        drafts = list(Application.objects.filter(batch=self.batch, status="draft").order_by("pk"))
        assert len(drafts) == self.n
        return drafts

    @staticmethod
    def _withdraw(application):
        from django.db import transaction

        with transaction.atomic():
            application.withdraw()
            application.save()

    def run(self, application, meter):
        meter("withdraw + save", self._withdraw, application)

    def check(self):
        from approvals.models import Application

        assert Application.objects.filter(batch=self.batch, status="withdrawn").count() == self.n


@functools.cache
def bare_flow_class():
    """Start -> View -> End with viewflow's own Process and Task; registered as a module of the
    `workflows` app because viewflow stores flows by app label and import path."""
    from django.http import HttpResponse
    from viewflow import this
    from viewflow.workflow import flow, lock

    module = types.ModuleType("workflows.bench_bare")
    sys.modules[module.__name__] = module

    def noop_view(request, **kwargs):
        return HttpResponse()

    class BareFlow(flow.Flow):
        __module__ = module.__name__
        lock_impl = lock.select_for_update_lock

        start = flow.StartHandle().Next(this.task)
        task = flow.View(noop_view).Next(this.end)
        end = flow.End()

    module.BareFlow = BareFlow
    return BareFlow


class BareViewflow:
    """(c) human tasks of the minimal flow: assign, then start + execute, each under the flow's lock as
    viewflow's own views do (or, for reference, both under one lock)."""

    def __init__(self, world, n, *, one_lock=False):
        self.flow_class, self.n, self.one_lock = bare_flow_class(), n, one_lock
        self.user = world.user["anhui_reviewer"]
        self.label = "task, one lock" if one_lock else "task (assign; execute)"

    def prepare(self):
        from viewflow.workflow.status import STATUS

        flow_class = self.flow_class
        self.processes = [flow_class.start.run() for _ in range(self.n)]
        tasks = list(
            flow_class.task_class._default_manager.filter(
                process__in=self.processes, flow_task=flow_class.task, status=STATUS.NEW
            ).order_by("pk")
        )
        assert len(tasks) == self.n
        return tasks

    def _assign_then_execute(self, task):
        with task.activation() as activation:
            activation.assign(self.user)
        with task.activation() as activation:
            activation.start(None)
            activation.execute()

    def _under_one_lock(self, task):
        with task.activation() as activation:
            activation.assign(self.user)
            activation.start(None)
            activation.execute()

    def run(self, task, meter):
        meter(self.label, self._under_one_lock if self.one_lock else self._assign_then_execute, task)

    def check(self):
        from viewflow.workflow.status import STATUS

        done = self.flow_class.process_class._default_manager.filter(
            pk__in=[p.pk for p in self.processes], status=STATUS.DONE
        )
        assert done.count() == self.n


# --------------------------------------------------------------------------------------- report


def table(title, meter):
    print(f"\n{title}")
    print(f"  {'step':<24}{'calls':>6}{'ms/call':>9}{'cpu ms':>8}{'queries':>9}{'+BEGIN/COMMIT':>15}")
    rows = [(label, meter.calls[label], meter.seconds[label], meter.cpu[label], meter.queries[label],
             meter.statements[label]) for label in meter.calls]
    rows.append(("all", meter.total_calls, meter.total_seconds, sum(meter.cpu.values()), meter.total_queries,
                 sum(meter.statements.values())))
    for label, calls, seconds, cpu, queries, statements in rows:
        print(f"  {label:<24}{calls:>6}{1000 * seconds / calls:>9.2f}{1000 * cpu / calls:>8.2f}"
              f"{queries / calls:>9.1f}{statements / calls:>15.1f}")
    print(f"  => {meter.total_calls / meter.total_seconds:.1f} per second")


def main():
    args = parse_args()
    where, cleanup = scratch_database(BENCH_DB)
    try:
        t0 = time.perf_counter()
        setup_django()
        from django.db import connection

        from tests.approvals.conftest import World

        world = World()
        print(f"{where}: migrated and world built in {time.perf_counter() - t0:.1f} s; N={args.n}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

        engine, fsm, viewflow, viewflow_one = Meter(), Meter(), Meter(), Meter()
        every = 4  # the one-lock reference variant runs on every 4th round only
        benches = [
            (EngineChain(world, args.n), engine, 1),
            (BareFsm(world, args.n), fsm, 1),
            (BareViewflow(world, args.n), viewflow, 1),
            (BareViewflow(world, max(args.n // every, 1), one_lock=True), viewflow_one, every),
        ]
        t1 = time.perf_counter()
        subjects = [bench.prepare() for bench, _meter, _every in benches]
        print(f"set-up (drafts with attachments, processes) in {time.perf_counter() - t1:.1f} s")
        # Interleaved, so that all three see the same machine: one application's chain, one bare FSM
        # transition, one bare viewflow task per round.
        # CPU time, not wall time: on a busy machine waiting for the CPU would swamp the profile.
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        for round_no in range(args.n):
            for (bench, meter, step), items in zip(benches, subjects, strict=True):
                if round_no % step == 0 and round_no // step < len(items):
                    if profiler and meter is engine:
                        profiler.enable()
                    bench.run(items[round_no // step], meter)
                    if profiler and meter is engine:
                        profiler.disable()
        for bench, _meter, _every in benches:
            bench.check()
        print(f"measured; load average {os.getloadavg()[0]:.1f}")

        table("(a) engine transitions (full chain, 11 per application)", engine)
        table("(b) bare django-fsm transition + save", fsm)
        table("(c) bare viewflow human task (Start -> View -> End)", viewflow)
        table("    same, assign and execute under one lock (N/4 tasks, for reference)", viewflow_one)
        if args.queries:
            for meter in (engine, fsm, viewflow, viewflow_one):
                for label, statements in meter.sql.items():
                    print(f"\n-- {label}: {len(statements)} statements (first call)")
                    for sql in statements:
                        print(f"   {sql[:200]}")
        if profiler:
            print("\ncProfile (CPU time) of the engine transitions (sorted by PROFILE_SORT, default cumulative; top 40):")
            stats = pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative"))
            if os.environ.get("PROFILE_DUMP"):
                stats.dump_stats(os.environ["PROFILE_DUMP"])
            stats.print_stats(40)
            print("\nthe project's own functions (cumulative, top 30):")
            stats.print_stats(rf"{ROOT}/(approvals|workflows|printing|orgs)/", 30)

        transitions_per_s = engine.total_calls / engine.total_seconds
        viewflow_per_s = viewflow.total_calls / viewflow.total_seconds
        print(f"\n{connection.vendor}: engine/viewflow = {transitions_per_s / viewflow_per_s:.2f} (goal >= 1.0, "
              f"issue 17; the bar of issue 10 is 0.91); queries/transition = "
              f"{engine.total_queries / engine.total_calls:.2f} (goal <= 12, issue 17; bar 12.28, issue 10)")
        print(f"transitions_per_s={transitions_per_s:.1f}")
        print(f"viewflow_bare_task_per_s={viewflow_per_s:.1f}")
        print(f"bare_fsm_per_s={fsm.total_calls / fsm.total_seconds:.1f}")
        print(f"queries_per_transition={engine.total_queries / engine.total_calls:.2f}")
    finally:
        cleanup(args.keep)


if __name__ == "__main__":
    main()
