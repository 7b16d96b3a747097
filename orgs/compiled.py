"""Querysets compiled to SQL once per process and database, then run with new values.

The hottest statements (the seats read by every action and page, the application lock and the open-task
look-up of every transition) cost more in Django's SQL compiler than in the database. Their shape never
changes, only a few values do. `CompiledQuery` builds the queryset once with marker values where those
values go, keeps the SQL, the parameter slots the markers landed in, the column converters and the model
hydration plan, and afterwards runs the SQL with the real values put in the slots.

A marker must be a value that the queryset contains nowhere else (large negative integers, a date in
1901). If compiling finds a marker in no slot, or in a place the plan cannot replace (the queryset changed
shape), the queryset is compiled every time instead: slower, never wrong. The test suite checks every
compiled query against its queryset (tests/approvals/test_compiled.py).
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple
    slots: tuple  # per parameter: the name of the value that goes there, or None for a constant
    converters: tuple  # ((position, (converter, ...), expression), ...)
    model: type[Model] | None  # None: rows are returned as tuples
    model_span: tuple[int, int] = (0, 0)
    init_list: tuple = ()
    related: tuple = ()


class CompiledQuery:
    """`build(**values)` returns the queryset; `marks` gives each value's marker. `objects(**values)`
    returns model instances (with their select_related rows), `rows(**values)` the rows of a
    values_list queryset. `shape` (any hashable) selects a variant, for querysets whose constants differ
    by call (a list of nodes, an optional filter): each shape is compiled once. A value named in
    `optional` may be absent from a shape's statement; every other one must be in each."""

    def __init__(self, build: Callable[..., QuerySet], *, optional: tuple = (), **marks):
        self._build = build
        self._marks = marks
        self._optional = frozenset(optional)  # values that some shapes do not use
        self._plans: dict[tuple, _Plan | None] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------------ run

    def objects(self, *, shape: Hashable = None, using: str = "default", **values) -> list[Model]:
        plan = self._plan(shape, using)
        if plan is None or plan.model is None or not _in_range(using, values):
            return list(self._build(shape=shape, **values) if shape is not None else self._build(**values))
        start, end = plan.model_span
        result = []
        for row in self._execute(plan, using, values):
            obj = plan.model.from_db(using, plan.init_list, row[start:end])
            for populator in plan.related:
                populator.populate(row, obj)
            result.append(obj)
        return result

    def rows(self, *, shape: Hashable = None, using: str = "default", **values) -> list[tuple]:
        plan = self._plan(shape, using)
        if plan is None or plan.model is not None or not _in_range(using, values):
            return list(self._build(shape=shape, **values) if shape is not None else self._build(**values))
        return [tuple(row) for row in self._execute(plan, using, values)]

    def _execute(self, plan: _Plan, using: str, values: dict) -> list:
        connection = connections[using]
        adapted = {name: _adapt(connection, value) for name, value in values.items()}
        params = [p if slot is None else adapted[slot] for p, slot in zip(plan.params, plan.slots, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if not plan.converters:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for position, convs, expression in plan.converters:
                value = row[position]
                for converter in convs:
                    value = converter(value, expression, connection)
                row[position] = value
            converted.append(row)
        return converted

    # -------------------------------------------------------------------------------------- compile

    def _plan(self, shape, using: str) -> _Plan | None:
        connection = connections[using]
        key = (connection.vendor, connection.settings_dict.get("NAME"), using, shape)
        try:
            return self._plans[key]
        except KeyError:
            pass
        plan = self._compile(shape, using)
        with self._lock:
            self._plans[key] = plan
        return plan

    def _compile(self, shape, using: str) -> _Plan | None:
        connection = connections[using]
        queryset = self._build(shape=shape, **self._marks) if shape is not None else self._build(**self._marks)
        queryset = queryset.using(using)
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            return None
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        marks = {name: _adapt(connection, value) for name, value in self._marks.items()}
        slots = tuple(next((name for name, mark in marks.items() if p == mark), None) for p in params)
        if set(marks) - set(slots) - self._optional or any(str(mark) in sql for mark in marks.values()):
            return None  # a marker is missing from the parameters, or was inlined: not replaceable
        fields = [s[0] for s in compiler.select[0:compiler.col_count]]
        converters = tuple(
            (position, tuple(convs), expression)
            for position, (convs, expression) in compiler.get_converters(fields).items()
        )
        if compiler.has_composite_fields(fields):
            return None
        if queryset._iterable_class is ValuesListIterable:
            return _Plan(sql=sql, params=tuple(params), slots=slots, converters=converters, model=None)
        if not _plain_models(queryset) or compiler.klass_info is None or compiler.annotation_col_map:
            return None
        select_fields = compiler.klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        return _Plan(
            sql=sql, params=tuple(params), slots=slots, converters=converters,
            model=compiler.klass_info["model"], model_span=(start, end),
            init_list=tuple(f[0].target.attname for f in compiler.select[start:end]),
            related=tuple(get_related_populators(compiler.klass_info, compiler.select, using)),
        )


def _plain_models(queryset: QuerySet) -> bool:
    """Model instances as Django's own iterable makes them. A subclass that changes them (viewflow's
    coerced tasks) is not reproduced here: such a queryset is compiled each time."""
    iterable = queryset._iterable_class
    return iterable is ModelIterable or (issubclass(iterable, ModelIterable) and not getattr(queryset, "_coerced", False))


def _in_range(using: str, values: dict) -> bool:
    """Whether every integer fits the database's 64-bit integers. The ORM answers a lookup with a larger one
    (an id from a hostile URL) without asking the database; such a call takes the ORM's path."""
    low, high = connections[using].ops.integer_field_range("BigIntegerField")
    return all(low <= value <= high for value in values.values() if isinstance(value, int) and value is not None)


def _adapt(connection, value):
    """A value as the compiler puts it in the parameters."""
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return connection.ops.adapt_datefield_value(value)
    return value
