"""Real concurrency on PostgreSQL: 50 issue tasks for one (province, program, year) run at the same instant
in 50 threads, each with its own connection, and get the numbers 1..50 exactly once each.

Row locks only mean something on PostgreSQL (SQLite serialises whole transactions), so this is skipped on
any other database. The applications are created directly in status approved (the lifecycle leading there
is tested elsewhere); the issue itself runs through the real task: reservation, render, storage.
"""
import hashlib
import threading

import pytest
from django.db import connection, connections

from printing import services
from printing.models import Certificate, CertificateSequence
from printing.tasks import issue_certificate_task

from .helpers import bulk_approved

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock concurrency needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

COUNT = 50


def run_in_threads(application_ids, repeat=1):
    barrier = threading.Barrier(len(application_ids) * repeat)
    results, errors = [], []

    def work(application_id):
        try:
            barrier.wait(timeout=60)
            # Eager, in this thread: autoretry included; .get() is refused while other tasks run.
            outcome = issue_certificate_task.apply(args=[application_id])
            if outcome.successful():
                results.append(outcome.result)
            else:
                errors.append(f"{outcome.state}: {outcome.result!r}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(pk,)) for pk in application_ids for _ in range(repeat)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def test_fifty_parallel_issues_get_numbers_1_to_50(world, private_storage):
    applications = bulk_approved(world, COUNT)
    results, errors = run_in_threads([a.pk for a in applications])
    assert errors == []
    assert len(results) == COUNT and len(set(results)) == COUNT

    certificates = list(Certificate.objects.order_by("seq"))
    assert [c.seq for c in certificates] == list(range(1, COUNT + 1))  # no gap, no duplicate
    assert len({c.number for c in certificates}) == COUNT
    assert {c.application_id for c in certificates} == {a.pk for a in applications}
    assert CertificateSequence.objects.get().last == COUNT
    for certificate in certificates:
        pdf = services.certificate_pdf_path(certificate).read_bytes()
        assert hashlib.sha256(pdf).hexdigest() == certificate.pdf_sha256
    assert len(list((private_storage / "certificates").iterdir())) == COUNT


def test_each_task_twice_at_once_still_one_certificate_each(world, private_storage):
    applications = bulk_approved(world, 10, name="重复投递单位")
    results, errors = run_in_threads([a.pk for a in applications], repeat=2)
    assert errors == []
    assert len(results) == 20 and len(set(results)) == 10
    assert sorted(Certificate.objects.values_list("seq", flat=True)) == list(range(1, 11))
    assert len(list((private_storage / "certificates").iterdir())) == 10
