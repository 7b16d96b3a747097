"""Figures of the reports page, scoped to the user like every other read (`selectors.application_list`):
applications per program, per status and per city, and the median working days spent in each stage.

The counts come from one query grouped by (program, status, city) and the stage durations from one
query over the audit events; with the user's memberships (read once, when the scope is built) the
whole report costs three queries whatever the number of applications.

Stage durations come from the audit trail. The status-changing events of an application (those whose
`from_status` differs from `to_status`) form its sequence of stays: the event with `to_status = S`
enters S and the application's next status-changing event leaves it. The database pairs them with a
window function (LEAD over the application's events in `seq` order), takes the local date of both
ends, and counts the working days by joining a table of the running working-day count (built in Python
from `workflows.workdays`, from the earliest visible application's creation to tomorrow) to both ends:
working days after the entry day up to and including the day left, as `workdays_between` counts them,
so a stage entered and left on the same day takes 0. What comes back is one row per stage and number
of days; the median of each stage is taken from that histogram.
"""
from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BooleanField, Count, F, Min, Q, QuerySet, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lead, TruncDate
from django.utils import timezone
from django.utils.translation import get_language

from workflows.workdays import is_workday

from .models import Application, AuditEvent, Stage, Status


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
    visible applications instead of three), and when the earliest of them was created (None if none)."""
    groups = (
        applications.order_by()
        .values_list("program__code", "program__name_zh", "program__name_en", "status", "city_id", "city__name")
        .annotate(n=Count("id"), first=Min("created_at"))
    )
    programs: dict[str, list] = {}
    statuses: dict[str, int] = {}
    cities: dict[int, list] = {}
    first = None
    for code, name_zh, name_en, status, city_id, city_name, n, created in groups:
        programs.setdefault(code, [_program_label(name_zh, name_en), 0])[1] += n
        statuses[status] = statuses.get(status, 0) + n
        cities.setdefault(city_id, [city_name, 0])[1] += n
        first = created if first is None or created < first else first
    by_program = [Row(code, label, n) for code, (label, n) in sorted(programs.items())]
    by_status = [Row(value, str(label), statuses[value]) for value, label in Status.choices if statuses.get(value)]
    by_city = sorted((Row(str(pk), name, n) for pk, (name, n) in cities.items()), key=lambda r: (-r.value, r.label))
    return by_program, by_status, by_city, first


# ----------------------------------------------------------------------------------- stage durations


@functools.lru_cache(maxsize=8)
def _fixed_offset_minutes(tzname: str) -> int | None:
    """The zone's UTC offset in minutes if it was the same on the first day of every month from 2000 to
    two years from now (Asia/Shanghai: +480 since 1991); None for a zone with daylight saving time."""
    zone = zoneinfo.ZoneInfo(tzname)
    offsets = {
        dt.datetime(year, month, 1, 12, tzinfo=zone).utcoffset()
        for year in range(2000, dt.date.today().year + 3) for month in range(1, 13)
    }
    if len(offsets) != 1:
        return None
    return int(offsets.pop().total_seconds() // 60)


class LocalDate(TruncDate):
    """TruncDate (the date in the current time zone). On SQLite, Django's version calls a Python
    function per row, twice per event here; for a zone with a fixed offset SQLite's own date() with that
    offset gives the same date natively (bench/inbox.py, a province of ~400 applications: the stays
    query went from about 80 ms to about 10 ms)."""

    def as_sqlite(self, compiler, connection, **extra_context):
        tzname = self.get_tzname()
        offset = _fixed_offset_minutes(tzname) if tzname else 0
        if offset is None:
            return self.as_sql(compiler, connection)
        sql, params = compiler.compile(self.lhs)
        return f"date({sql}, %s)", (*params, f"{offset:+d} minutes")


def _of_applications(applications: QuerySet[Application]):
    """The condition "the event belongs to one of `applications`".

    On PostgreSQL as `application_id = ANY(ARRAY(<their ids>))`: the ids are computed once and each one
    looked up in the events' application index. With a plain `IN (<subquery>)` the planner joins on its
    estimate of how many applications the scope holds, and the scope's condition (an OR of a subquery
    and path prefixes) is estimated at half the table, so it merges with every event of the database:
    on bench/inbox.py's 100,000 applications a city's stays took ~400 ms that way, ~57 ms with ANY."""
    ids = applications.order_by().values("pk")
    if connection.vendor != "postgresql":
        return Q(application_id__in=ids)
    sql, params = ids.query.sql_with_params()
    column = f"{connection.ops.quote_name(AuditEvent._meta.db_table)}.{connection.ops.quote_name('application_id')}"
    return RawSQL(f"{column} = ANY(ARRAY({sql}))", params, output_field=BooleanField())


def _stays_query(applications: QuerySet[Application]) -> tuple[str, tuple]:
    """SQL of the status-changing events of `applications` as (to_status, entered_on, left_on): the local
    dates an event entered its status and the application's next status-changing event left it."""
    events = (
        AuditEvent.objects.filter(_of_applications(applications))
        .exclude(from_status=F("to_status"))
        .order_by()
        .annotate(
            entered_on=LocalDate("created_at"),
            left_on=Window(Lead(LocalDate("created_at")), partition_by=[F("application_id")],
                           order_by=[F("seq").asc()]),
        )
        .values_list("to_status", "entered_on", "left_on")
    )
    return events.query.sql_with_params()


def _calendar_sql(numbers: dict[dt.date, int]) -> tuple[str, tuple] | None:
    """A (day, n) table of the running working-day count as two array parameters, on PostgreSQL. SQLite
    gets None: it scans such a table (json_each) once per stay instead of indexing it, 1.3 s on a
    province of bench/inbox.py, where grouping by dates and counting in Python takes about 0.2 s."""
    if connection.vendor != "postgresql":
        return None
    days = sorted(numbers)
    return "SELECT * FROM unnest(%s::date[], %s::int[])", (days, [numbers[d] for d in days])


def stage_day_counts(applications: QuerySet[Application], first_day: dt.date | None) -> dict[str, dict[int, int]]:
    """{stage: {working days: number of finished stays}} over the chain's stages: one query.

    On PostgreSQL the working days are counted in the database: a table of the running count of working
    days from `first_day` (the earliest creation among the applications, so no stay starts before it) to
    tomorrow is joined to both ends of each stay, and the stays are grouped by stage and difference (for
    a province of bench/inbox.py, 126 rows instead of 23,500). A stay whose dates fall outside that
    table (none should) comes back with its dates and is counted in Python, as every stay is on SQLite
    (grouped by stage and dates)."""
    stages = list(Stage.values)
    marks = ", ".join(["%s"] * len(stages))
    inner, inner_params = _stays_query(applications)
    numbers = workday_numbers([first_day - dt.timedelta(days=1), timezone.localdate() + dt.timedelta(days=1)]
                              if first_day else [])
    calendar = _calendar_sql(numbers) if numbers else None
    if calendar is None:  # SQLite, or no application: group by dates, count the days in Python
        sql = (
            f"SELECT stays.to_status, NULL, stays.entered_on, stays.left_on, COUNT(*) FROM ({inner}) stays "
            f"WHERE stays.left_on IS NOT NULL AND stays.to_status IN ({marks}) "
            "GROUP BY stays.to_status, stays.entered_on, stays.left_on"
        )
        params = (*inner_params, *stages)
    else:
        calendar_sql, calendar_params = calendar
        outside = "e.n IS NULL OR l.n IS NULL"
        sql = (
            f"WITH cal(day, n) AS ({calendar_sql}) "
            f"SELECT stays.to_status, l.n - e.n, CASE WHEN {outside} THEN stays.entered_on END, "
            f"CASE WHEN {outside} THEN stays.left_on END, COUNT(*) FROM ({inner}) stays "
            "LEFT JOIN cal e ON e.day = stays.entered_on LEFT JOIN cal l ON l.day = stays.left_on "
            f"WHERE stays.left_on IS NOT NULL AND stays.to_status IN ({marks}) GROUP BY 1, 2, 3, 4"
        )
        params = (*calendar_params, *inner_params, *stages)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows = [(stage, days, _date(entered), _date(left), n) for stage, days, entered, left, n in rows]
    # The stays counted here: a running count over their dates (O(1) per stay, like workdays_between).
    here = workday_numbers(d for _s, days, entered, left, _n in rows if days is None for d in (entered, left))
    histograms: dict[str, dict[int, int]] = {}
    for stage, days, entered, left, n in rows:
        if days is None:
            days = here[left] - here[entered]
        bucket = histograms.setdefault(stage, {})
        bucket[days] = bucket.get(days, 0) + n
    return histograms


def _date(value) -> dt.date:
    """A raw cursor gives SQLite's dates back as text."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def workday_numbers(days) -> dict[dt.date, int]:
    """A running count of working days over the span of `days`: for any two dates a <= b of the span,
    numbers[b] - numbers[a] == workdays_between(a, b)."""
    days = set(days)
    if not days:
        return {}
    day, last = min(days), max(days)
    numbers, count = {}, 0
    while day <= last:
        numbers[day] = count
        day += dt.timedelta(days=1)
        count += is_workday(day)
    return numbers


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


def median_stage_days(applications: QuerySet[Application], first_day: dt.date | None) -> list[StageFigure]:
    histograms = stage_day_counts(applications, first_day)
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
    by_program, by_status, by_city, first = application_counts(applications)
    first_day = timezone.localtime(first).date() if first else None
    return Report(
        total=sum(r.value for r in by_status),
        by_program=by_program,
        by_status=by_status,
        by_city=by_city,
        stage_days=median_stage_days(applications, first_day),
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
