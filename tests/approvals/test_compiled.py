"""Querysets compiled once (orgs.compiled) give what the ORM gives, with one statement and no compiling."""
import datetime as dt
from unittest import mock

import pytest
from django.db import transaction
from django.db.models.sql.compiler import SQLCompiler

from approvals import services as svc
from approvals.models import Application
from orgs import access
from orgs.compiled import CompiledQuery
from orgs.models import Membership

from .chain import act, create

PROGRAM = "society-service-station"
FIELDS = [f.attname for f in Application._meta.concrete_fields]


def _same_application(a: Application, b: Application):
    assert [getattr(a, f) for f in FIELDS] == [getattr(b, f) for f in FIELDS]
    for related in ("program", "batch", "process", "division"):
        assert getattr(a, related).pk == getattr(b, related).pk
        fields = [f.attname for f in getattr(a, related)._meta.concrete_fields]
        assert [getattr(getattr(a, related), f) for f in fields] == [getattr(getattr(b, related), f) for f in fields]
    # Loaded from the database, as the ORM's own instances: saving updates, not inserts.
    assert a._state.adding is False and a._state.db == b._state.db


@pytest.fixture
def submitted(world, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    application = create(world, PROGRAM)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=application.pk)
    return application


def test_the_lock_gives_the_orms_rows_with_one_statement_and_no_compiling(world, submitted, django_assert_num_queries):
    with transaction.atomic():
        svc._LOCK.objects(pk=submitted.pk)  # compiled here, once per process (perhaps already)
        with mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("compiled again")):
            with django_assert_num_queries(1) as captured:
                (locked,) = svc._LOCK.objects(pk=submitted.pk)
        expected = svc._lock_query(submitted.pk).get()
    _same_application(locked, expected)
    # Converters ran: the form is a dict, the times are aware.
    assert isinstance(locked.form_data, dict) and locked.form_data == expected.form_data
    assert locked.created_at.tzinfo is not None
    if captured.connection.features.has_select_for_update:
        assert "FOR UPDATE" in captured.captured_queries[0]["sql"]
    # The application's values are in the statement's parameters, not in its text.
    assert str(submitted.pk) not in captured.captured_queries[0]["sql"].split("LIMIT")[0].split("WHERE")[0]


def test_an_unknown_application_is_not_found(world, submitted):
    with transaction.atomic():
        assert svc._LOCK.objects(pk=submitted.pk + 10_000) == []
        # Beyond the database's integers (SQLite would overflow): the ORM's answer, nothing found.
        assert svc._LOCK.objects(pk=2**63) == [] and svc._LOCK.objects(pk=-(2**63) - 1) == []
        with pytest.raises(svc.E.NotFound):
            svc._lock(2**63)
        with pytest.raises(svc.E.NotFound):
            svc._lock(submitted.pk + 10_000)


def test_the_open_task_per_shape(world, submitted, django_assert_num_queries):
    application = Application.objects.select_related("process").get(pk=submitted.pk)
    node = ("sign_off",)
    found = svc._OPEN_TASK.objects(shape=(node, False), process_id=application.process_id, owner_id=None)
    expected = list(svc._open_task_query(process_id=application.process_id, owner_id=None, shape=(node, False)))
    assert len(found) == 1 and [t.pk for t in found] == [t.pk for t in expected]
    task = found[0]
    assert task.flow_task == expected[0].flow_task  # the node reference field's converter ran
    assert task.status == expected[0].status and task.created == expected[0].created
    # Another shape is another statement: with an owner that holds nothing, nothing is found.
    with django_assert_num_queries(1):
        assert svc._OPEN_TASK.objects(shape=(node, True), process_id=application.process_id, owner_id=-1) == []
    with pytest.raises(svc.E.Conflict):
        svc._open_task(application, ("review_in_city",))
    assert svc._OPEN_TASK._plans and all(plan is not None for plan in svc._OPEN_TASK._plans.values())


def test_the_seats_match_the_orm(world):
    user = world.user["chuzhou_reviewer"]
    today = dt.date.today()
    assert sorted(access._seat_rows(user_id=user.pk, on=today)) == sorted(access._seats_query(user_id=user.pk, on=today))
    # A date before the membership began: nothing, on the compiled and the ORM's query alike.
    Membership.objects.filter(user=user).update(valid_from=today)
    earlier = today - dt.timedelta(days=1)
    assert access._seat_rows(user_id=user.pk, on=earlier) == list(access._seats_query(user_id=user.pk, on=earlier)) == []


def test_a_marker_that_does_not_reach_the_parameters_falls_back_to_the_orm(world, django_assert_num_queries):
    """A queryset that ignores its value (a changed shape) is compiled each time and is still right."""
    query = CompiledQuery(lambda pk: Application.objects.filter(pk__gt=0), pk=-5)
    create(world, PROGRAM)
    expected = list(Application.objects.values_list("pk", flat=True))
    with django_assert_num_queries(1):
        assert [a.pk for a in query.objects(pk=1)] == expected
    assert query._plans and all(plan is None for plan in query._plans.values())
