"""Figures of the reports page, scoped to the user like every other read (`selectors.application_list`):
applications per program, per status and per city, and the median working days spent in each stage.

The counts come from one query grouped by (program, status, city), with the names of those programs and
cities read after it, and the stage durations from one query over the audit events; with the user's
memberships (read once, when the scope is built) the whole report costs five queries whatever the number
of applications.

Stage durations come from the audit trail. Every status-changing event is a finished stay in the
status it left: the action that writes it records when that status was entered (`from_entered_at`) and
the working days between the two local dates (`stay_workdays`, counted as `workdays_between` does, so a
stage entered and left on the same day takes 0). The report groups those events by stage and number of
days, read from a partial index alone, and takes each stage's median from that histogram. When the
working-day calendar of a year changes, `stays_recount` counts the stays that touch that year again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import get_language

from orgs.models import Organization
from workflows.workdays import workdays_between

from .models import Application, AuditEvent, Program, Stage, Status


@dataclass
class Row:
    key: str
    label: str
    value: int


@dataclass
class StageFigure:
    stage: str
    label: str
    stays: int  # finished stays counted
    median: float | None  # working days; None without a finished stay


@dataclass
class Report:
    total: int
    by_program: list[Row]
    by_status: list[Row]
    by_city: list[Row]
    stage_days: list[StageFigure] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ counts


def _program_label(name_zh: str, name_en: str) -> str:
    lang = (get_language() or "zh-hans").lower()
    return name_en if lang.startswith("en") and name_en else name_zh


def application_counts(applications: QuerySet[Application]):
    """Applications per program, per status and per city, from one grouped query (one pass over the
    visible applications instead of three), read from the scope's covering index alone; the names of
    the programs and cities found are read afterwards (a join per application before grouping cost more
    than the grouping: on bench/inbox.py's province of 8,000 applications, 24 ms against 9)."""
    groups = list(applications.order_by().values_list("program_id", "status", "city_id").annotate(n=Count("id")))
    program_names = {pk: (code, name_zh, name_en) for pk, code, name_zh, name_en in Program.objects.filter(
        pk__in={g[0] for g in groups}).values_list("pk", "code", "name_zh", "name_en")}
    city_names = dict(Organization.objects.filter(pk__in={g[2] for g in groups}).order_by().values_list("pk", "name"))
    programs: dict[str, list] = {}
    statuses: dict[str, int] = {}
    cities: dict[int, list] = {}
    for program_id, status, city_id, n in groups:
        code, name_zh, name_en = program_names[program_id]
        city_name = city_names.get(city_id)
        programs.setdefault(code, [_program_label(name_zh, name_en), 0])[1] += n
        statuses[status] = statuses.get(status, 0) + n
        cities.setdefault(city_id, [city_name, 0])[1] += n
    by_program = [Row(code, label, n) for code, (label, n) in sorted(programs.items())]
    by_status = [Row(value, str(label), statuses[value]) for value, label in Status.choices if statuses.get(value)]
    by_city = sorted((Row(str(pk), name, n) for pk, (name, n) in cities.items()), key=lambda r: (-r.value, r.label))
    return by_program, by_status, by_city


# ----------------------------------------------------------------------------------- stage durations


def _of_applications(applications: QuerySet[Application]):
    """The condition "the event belongs to one of `applications`".

    On PostgreSQL as `application_id = ANY(ARRAY(<their ids>))`: the ids are computed once and each one
    looked up in the events' index. With a plain `IN (<subquery>)` the planner joins on its estimate of
    how many applications the scope holds, and the scope's condition (an OR of a subquery and path
    prefixes) is estimated at half the table, so it merges with every event of the database: on
    bench/inbox.py's 100,000 applications a city's stays took ~400 ms that way, ~57 ms with ANY."""
    ids = applications.order_by().values("pk")
    if connection.vendor != "postgresql":
        return Q(application_id__in=ids)
    sql, params = ids.query.sql_with_params()
    column = f"{connection.ops.quote_name(AuditEvent._meta.db_table)}.{connection.ops.quote_name('application_id')}"
    return RawSQL(f"{column} = ANY(ARRAY({sql}))", params, output_field=BooleanField())


def stage_day_counts(applications: QuerySet[Application]) -> dict[str, dict[int, int]]:
    """{stage: {working days: number of finished stays}} over the chain's stages: one grouped query."""
    rows = (
        AuditEvent.objects.filter(_of_applications(applications), stay_workdays__isnull=False,
                                  from_status__in=Stage.values)
        .order_by()
        .values_list("from_status", "stay_workdays")
        .annotate(n=Count("*"))
    )
    histograms: dict[str, dict[int, int]] = {}
    for stage, days, n in rows:
        histograms.setdefault(stage, {})[days] = n
    return histograms


def stays_recount(*, year: int) -> int:
    """Count again the working days of every stay that touches `year` (its calendar changed); return
    how many changed. Run by a background task after a calendar edit or import."""
    zone = timezone.get_current_timezone()
    start = dt.datetime(year, 1, 1, tzinfo=zone)
    end = dt.datetime(year + 1, 1, 1, tzinfo=zone)
    changed = []
    stays = (AuditEvent.objects.filter(from_entered_at__lt=end, created_at__gte=start)
             .only("id", "from_entered_at", "created_at", "stay_workdays").order_by("pk"))
    for event in stays.iterator(chunk_size=2000):
        days = max(0, workdays_between(event.from_entered_at, event.created_at))
        if days != event.stay_workdays:
            event.stay_workdays = days
            changed.append(event)
    AuditEvent.objects.bulk_update(changed, ["stay_workdays"], batch_size=2000)
    return len(changed)


def weighted_median(histogram: dict[int, int]) -> float | None:
    """Median of values given as {value: how many times}; the mean of the two middle ones for an even
    total, as statistics.median does."""
    total = sum(histogram.values())
    if not total:
        return None
    ordered = sorted(histogram.items())

    def at(index):  # the index-th value (0-based) of the sorted expansion
        seen = 0
        for value, n in ordered:
            seen += n
            if index < seen:
                return value
        raise IndexError(index)

    if total % 2:
        return float(at(total // 2))
    return (at(total // 2 - 1) + at(total // 2)) / 2


def median_stage_days(applications: QuerySet[Application]) -> list[StageFigure]:
    histograms = stage_day_counts(applications)
    return [
        StageFigure(value, str(label), sum(histograms.get(value, {}).values()),
                    weighted_median(histograms.get(value, {})))
        for value, label in Stage.choices
    ]


# ------------------------------------------------------------------------------------------- report


def report_build(*, user) -> Report:
    """Every figure of the reports page for `user`: three queries (memberships, counts, stays)."""
    from .selectors import application_list

    applications = application_list(user=user)  # the scope (memberships) is read once, here
    try:
        by_program, by_status, by_city = application_counts(applications)
        stage_days = median_stage_days(applications)
    except EmptyResultSet:  # a scope that is empty by construction (no role in force): nothing to count
        by_program, by_status, by_city, stage_days = [], [], [], []
    return Report(
        total=sum(r.value for r in by_status),
        by_program=by_program,
        by_status=by_status,
        by_city=by_city,
        stage_days=stage_days,
    )


# ------------------------------------------------------------------------------------------- charts


@dataclass
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: float
    text_x: float


@dataclass
class BarChart:
    """Geometry of a horizontal bar chart drawn as inline SVG by the template."""

    title: str
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    bar_height: int
    omitted: int = 0  # rows left out of the chart (they stay in the table and the workbook)


def bar_chart(title: str, rows, *, limit: int = 20, width: int = 720, label_width: int = 200,
              bar_height: int = 22, gap: int = 6, unit: str = "") -> BarChart:
    """Rows are (label, value or None); at most `limit` of them are drawn, in the given order."""
    rows = list(rows)
    shown, omitted = rows[:limit], max(0, len(rows) - limit)
    top = max((v for _label, v in shown if v), default=0)
    room = width - label_width - 70  # space for the value after the longest bar
    bars = []
    for i, (label, value) in enumerate(shown):
        length = (value / top * room) if top and value else 0
        text = "—" if value is None else (f"{value:g}{unit}")
        bars.append(Bar(label=label, value=value or 0, text=text, y=i * (bar_height + gap),
                        width=round(length, 1), text_x=round(label_width + length + 6, 1)))
    height = max(1, len(bars)) * (bar_height + gap)
    return BarChart(title, bars, width, height, label_width, bar_height, omitted)
