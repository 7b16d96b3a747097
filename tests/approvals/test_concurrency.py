"""Real concurrency on PostgreSQL: threads, each with its own connection, act at the same instant.

Row locks only mean something on PostgreSQL (SQLite serialises whole transactions), so these tests are
skipped on any other database. They run in transactional tests: the world is committed, so the threads
see it, and flushed afterwards.
"""
import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from approvals import errors as E
from approvals import services as svc
from approvals.models import Application, AuditEvent, Batch, BatchQuota, Program, Status

from . import chain
from .chain import SUBJECTS, act
from .conftest import base_form, minimal_pdf

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

PROGRAM = "collaborative-innovation-base"  # county applicant, city review, three attachments
ROUNDS = 20
CONTENDERS = 20
QUOTA_APPLICATIONS = 10
QUOTA = 3
CONFLICT_ERRORS = (E.WrongState, E.Conflict)


def new_batch(world, quota: int) -> Batch:
    """A fresh open batch of the program in Anhui with `quota` for every city."""
    program = Program.objects.get(code=PROGRAM)
    today = timezone.localdate()
    batch = Batch.objects.create(
        program=program, province=world.org["anhui"], year=today.year, name=f"并发测试{Batch.objects.count()}",
        opens_on=today - dt.timedelta(days=10), closes_on=today + dt.timedelta(days=30),
    )
    for city in ("chuzhou", "hefei"):
        BatchQuota.objects.create(batch=batch, city=world.org[city], quota=quota)
    return batch


def in_city_review(world, batch: Batch, county: str = "langya", *, sign_off: bool = True) -> Application:
    """A new application of `county` submitted (and signed off) in `batch`."""
    clerk = act(world, f"{county}_clerk")
    application = svc.application_create(
        actor=clerk, batch=batch, applicant=world.org[county], subject_name=SUBJECTS[PROGRAM], uscc=chain.fresh_uscc(),
        division_code=world.division[county].code, form_data=base_form(),
    )
    for kind in batch.program.attachment_kinds:
        svc.attachment_add(actor=clerk, application_id=application.pk, kind=kind["code"],
                           name=f"{kind['label']}.pdf", content=minimal_pdf(kind["code"]))
    svc.application_submit(actor=clerk, application_id=application.pk)
    if sign_off:
        svc.application_sign_off(actor=act(world, f"{county}_leader"), application_id=application.pk)
    return Application.objects.get(pk=application.pk)


def run_together(calls) -> list:
    """Run each call in its own thread, all released at once; return each outcome (result or exception)."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            connection.ensure_connection()  # connect before the barrier so that the calls start together
            barrier.wait(timeout=30)
            outcomes[index] = call()
        except BaseException as exc:  # noqa: BLE001 - every outcome is inspected by the test
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung (deadlock?)"
    return outcomes


def describe(outcomes) -> Counter:
    return Counter(type(o).__name__ for o in outcomes)


@pytest.mark.parametrize("action", ["sign_off", "recommend"])
def test_one_task_many_hands(world, action):
    """20 people press the same button at once: one wins, 19 are told it was already handled (409)."""
    batch = new_batch(world, quota=ROUNDS + 1)
    for round_no in range(ROUNDS):
        application = in_city_review(world, batch, sign_off=action == "recommend")
        if action == "sign_off":
            actor, service, expected = act(world, "langya_leader"), svc.application_sign_off, Status.CITY_REVIEW
        else:
            actor, service, expected = act(world, "chuzhou_reviewer"), svc.application_recommend, Status.PROVINCE_CHECK
        events_before = AuditEvent.objects.filter(application=application).count()

        def call(actor=actor, service=service, pk=application.pk):
            return service(actor=actor, application_id=pk, comment="同意")

        outcomes = run_together([call] * CONTENDERS)

        successes = [o for o in outcomes if isinstance(o, Application)]
        failures = [o for o in outcomes if not isinstance(o, Application)]
        assert len(successes) == 1, f"round {round_no}: {describe(outcomes)}"
        assert all(isinstance(o, CONFLICT_ERRORS) and o.http_status == 409 for o in failures), (
            f"round {round_no}: {describe(outcomes)}: {[o for o in failures if not isinstance(o, CONFLICT_ERRORS)]}"
        )
        application.refresh_from_db()
        assert application.status == expected
        assert AuditEvent.objects.filter(application=application, action=action).count() == 1
        assert AuditEvent.objects.filter(application=application).count() == events_before + 1


def test_quota_race(world):
    """10 applications of one city are recommended at the same instant against a quota of 3."""
    reviewer = act(world, "chuzhou_reviewer")
    for round_no in range(ROUNDS):
        batch = new_batch(world, quota=QUOTA)
        applications = [
            in_city_review(world, batch, county=("langya", "nanqiao")[i % 2]) for i in range(QUOTA_APPLICATIONS)
        ]
        calls = [
            (lambda pk=a.pk: svc.application_recommend(actor=reviewer, application_id=pk, comment="推荐"))
            for a in applications
        ]

        outcomes = run_together(calls)

        successes = [o for o in outcomes if isinstance(o, Application)]
        refused = [o for o in outcomes if isinstance(o, E.QuotaExceeded)]
        assert len(successes) == QUOTA and len(refused) == QUOTA_APPLICATIONS - QUOTA, (
            f"round {round_no}: {describe(outcomes)}: {[o for o in outcomes if isinstance(o, Exception)][:3]}"
        )
        assert all(o.http_status == 409 for o in refused)
        statuses = Counter(
            Application.objects.filter(batch=batch).values_list("status", flat=True)
        )
        assert statuses == {Status.PROVINCE_CHECK: QUOTA, Status.CITY_REVIEW: QUOTA_APPLICATIONS - QUOTA}
        assert AuditEvent.objects.filter(application__batch=batch, action="recommend").count() == QUOTA
