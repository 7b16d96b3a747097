"""Working-day calendar for China: public holidays and adjusted working days (调休上班).

Where each day's status comes from, first match wins:

1. a ``CalendarDay`` an administrator entered (admin or ``manage.py load_calendar_year``);
2. the ``chinesecalendar`` package, for the years it covers (1.11.0: 2004–2026);
3. for a year the package does not cover and whose ``CalendarYear`` is not marked complete, the
   statutory holidays computed from the law (``workflows.holidays``) on top of the weekend rule. Every
   day of such a year is *provisional*: ``calendar_status(year)`` is ``"provisional"`` and
   ``due_date_info`` / ``span_is_estimate`` flag any count that runs through it, because the State
   Council's notice may still move days (调休);
4. the weekend rule (Monday–Friday work, Saturday and Sunday rest), exact for a complete year.

The administrator-entered rows are read in one query (years joined to their days, the whole table: a
year's arrangement is 30–40 rows) and cached per process. The admin, the notice import and the import
command call ``calendar_changed()`` after saving: the cache is dropped, other processes pick the change
up within ``CACHE_SECONDS``, and a worker counts again what depends on those years (due dates, notice
ends, the reports' stays).
"""
from __future__ import annotations

import csv
import functools
import io
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals.outbox import effects_add

from .holidays import provisional_weekdays_off

logger = logging.getLogger(__name__)

PACKAGE = "package"
ENTERED = "entered"
PROVISIONAL = "provisional"

CACHE_SECONDS = 300
WEEKDAY_NAMES = "一二三四五六日"
ONE_DAY = timedelta(days=1)


class CalendarYear(models.Model):
    """One year's arrangement as published by the State Council; its days are the ``CalendarDay`` rows."""

    year = models.PositiveSmallIntegerField(
        _("年份"), primary_key=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    complete = models.BooleanField(
        _("已完整录入"),
        default=False,
        help_text=_(
            "勾选表示该年全部放假日和调休上班日已按国务院办公厅通知录入。chinesecalendar 包不含该年且未勾选时，"
            "未录入的日期按《全国年节及纪念日放假办法》推算（暂定），期限和公示结束日期显示为估算。"
        ),
    )
    source = models.TextField(_("依据"), blank=True, help_text=_("通知标题、文号或网址"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        app_label = "workflows"
        verbose_name = _("年度节假日安排")
        verbose_name_plural = _("年度节假日安排")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}"


class CalendarDay(models.Model):
    """A day whose status an administrator set; it overrides the package and the weekend rule."""

    date = models.DateField(_("日期"), unique=True)
    year = models.ForeignKey(
        CalendarYear, verbose_name=_("年度"), on_delete=models.CASCADE, related_name="days"
    )
    is_workday = models.BooleanField(_("上班"), help_text=_("勾选为上班（调休上班日），不勾选为放假"))
    name = models.CharField(_("名称"), max_length=32, help_text=_("例如 春节、国庆节、调休上班"))
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        app_label = "workflows"
        verbose_name = _("节假日与调休")
        verbose_name_plural = _("节假日与调休")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}（{'上班' if self.is_workday else '放假'}）"

    def save(self, *args, **kwargs):
        # The year always follows the date; a day entered on its own creates its (incomplete) year.
        if self.year_id != self.date.year:
            CalendarYear.objects.get_or_create(year=self.date.year)
            self.year_id = self.date.year
        super().save(*args, **kwargs)


# --- per-process cache of the administrator-entered rows -------------------------------------------


@dataclass(frozen=True)
class _Entered:
    days: dict[date, bool]
    complete_years: frozenset[int]
    loaded_at: float


_cache: _Entered | None = None
_generation = 0
_lock = threading.Lock()


def _load() -> _Entered:
    days: dict[date, bool] = {}
    complete: set[int] = set()
    rows = CalendarYear.objects.order_by().values_list("year", "complete", "days__date", "days__is_workday")
    for year, is_complete, day, is_workday in rows:
        if is_complete:
            complete.add(year)
        if day is not None:
            days[day] = is_workday
    return _Entered(days, frozenset(complete), time.monotonic())


def _entered() -> _Entered:
    global _cache
    cached = _cache
    if cached is not None and time.monotonic() - cached.loaded_at < CACHE_SECONDS:
        return cached
    generation = _generation
    loaded = _load()
    with _lock:
        if generation == _generation:  # not cleared while we were reading
            _cache = loaded
    return loaded


def _drop_cache() -> None:
    global _cache, _generation
    with _lock:
        _generation += 1
        _cache = None


def clear_cache() -> None:
    """Forget the entered days now, and again when the current transaction commits."""
    _drop_cache()
    transaction.on_commit(_drop_cache)


def calendar_changed(years) -> None:
    """The arrangement of these years was edited: forget the cache and have a worker count again the open
    due dates, the running notices' ends and the reports' stays that touch those years (a `stays_recount`
    effect in the edit's transaction; workflows.tasks.recount_stays)."""
    clear_cache()
    effects_add(kind="stays_recount", items=[(year, [year], {}) for year in sorted(set(years))])


@functools.lru_cache(maxsize=256)
def _package_exceptions(year: int) -> frozenset[date] | None:
    """Days of ``year`` where the package departs from the weekend rule; None if it lacks the year."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return None
    day, exceptions = date(year, 1, 1), set()
    while day.year == year:
        if chinese_calendar.is_workday(day) != (day.weekday() < 5):
            exceptions.add(day)
        day += ONE_DAY
    return frozenset(exceptions)


def _lookup(day: date, entered: _Entered) -> tuple[bool, bool]:
    """(is the day a working day, is that an estimate)."""
    if day in entered.days:
        return entered.days[day], False
    weekday = day.weekday() < 5
    exceptions = _package_exceptions(day.year)
    if exceptions is not None:
        return weekday != (day in exceptions), False
    if day.year in entered.complete_years:
        return weekday, False
    return weekday and day not in provisional_weekdays_off(day.year), True


def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date, got {type(value).__name__}")


# --- public API ---------------------------------------------------------------------------------------


def calendar_status(year: int) -> str:
    """Where the year's days come from: "package", "entered" (complete), or "provisional" (estimate).

    Days an administrator entered override the package in any year; for a package year the status stays
    "package". For other years, dates not entered follow the statutory rule and the weekend rule, and are
    provisional until the year is marked complete.
    """
    if _package_exceptions(year) is not None:
        return PACKAGE
    return ENTERED if year in _entered().complete_years else PROVISIONAL


def span_is_estimate(a: date | datetime, b: date | datetime) -> bool:
    """Whether a count over the days in (a, b] runs through a provisional day (a year not yet loaded)."""
    a, b = _as_date(a), _as_date(b)
    if b < a:
        a, b = b, a
    if a == b:
        return False
    return any(calendar_status(year) == PROVISIONAL for year in range((a + ONE_DAY).year, b.year + 1))


def is_workday(day: date | datetime) -> bool:
    """Whether ``day`` is a working day in China (see the module docstring for the sources)."""
    return _lookup(_as_date(day), _entered())[0]


def due_date_info(start: date | datetime, n: int) -> tuple[date, bool]:
    """The date ``n`` working days after ``start`` (before it if ``n`` < 0), and whether it is an estimate.

    ``start`` itself is not counted; ``n == 0`` gives ``start`` back. The result is an estimate when any
    day between ``start`` (exclusive) and the result (inclusive) is provisional.
    """
    day = _as_date(start)
    if n == 0:
        return day, False
    entered = _entered()
    step = ONE_DAY if n > 0 else -ONE_DAY
    remaining, estimate = abs(n), False
    while remaining:
        day += step
        work, guessed = _lookup(day, entered)
        estimate = estimate or guessed
        if work:
            remaining -= 1
    return day, estimate


def add_workdays(start: date | datetime, n: int) -> date:
    """The date ``n`` working days after ``start``; ``start`` itself is not counted."""
    return due_date_info(start, n)[0]


def workdays_between(a: date | datetime, b: date | datetime) -> int:
    """Working days in (a, b]: after ``a``, up to and including ``b``; negative when ``b`` < ``a``.

    So ``workdays_between(a, add_workdays(a, n)) == n`` for every n.
    """
    a, b = _as_date(a), _as_date(b)
    if b < a:
        return -workdays_between(b, a)
    if a == b:
        return 0
    entered = _entered()
    count, day = 0, a
    while day < b:
        day += ONE_DAY
        count += _lookup(day, entered)[0]
    return count


# --- importing a year's arrangement -------------------------------------------------------------------


class CalendarImportError(Exception):
    """The file was rejected; ``errors`` lists every problem found (nothing was imported)."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass(frozen=True)
class ImportResult:
    year: int
    holidays: int
    workdays: int
    replaced: int


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"1", "true", "yes", "y", "是", "上班"}
_FALSE = {"0", "false", "no", "n", "否", "放假", "休息"}
_NAME_MAX = CalendarDay._meta.get_field("name").max_length
_NOTE_MAX = CalendarDay._meta.get_field("note").max_length


def parse_calendar_rows(year: int, rows) -> list[CalendarDay]:
    """Validate CSV rows (``date,is_workday,name[,note]``) into unsaved days; raise on any error."""
    errors: list[str] = []
    days: list[CalendarDay] = []
    seen: dict[date, int] = {}
    header_allowed = True
    for line, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if header_allowed and cells[0].lower() in ("date", "日期"):
            header_allowed = False
            continue
        header_allowed = False
        where = f"第 {line} 行"
        if len(cells) not in (3, 4):
            errors.append(f"{where}：应为 3 或 4 列（日期,是否上班,名称[,备注]），实际为 {len(cells)} 列")
            continue
        raw_date, raw_work, name = cells[:3]
        note = cells[3] if len(cells) == 4 else ""
        problems = []
        day = None
        if not _DATE_RE.match(raw_date):
            problems.append(f"日期“{raw_date}”格式不对，应为 YYYY-MM-DD，例如 {year}-02-08")
        else:
            try:
                day = date.fromisoformat(raw_date)
            except ValueError:
                problems.append(f"日期“{raw_date}”不存在")
        if raw_work.lower() in _TRUE:
            work = True
        elif raw_work.lower() in _FALSE:
            work = False
        else:
            work = None
            problems.append(f"“是否上班”应填 1（调休上班）或 0（放假），实际为“{raw_work}”")
        if not name:
            problems.append("名称不能为空（例如 春节、调休上班）")
        elif len(name) > _NAME_MAX:
            problems.append(f"名称不能超过 {_NAME_MAX} 个字")
        if len(note) > _NOTE_MAX:
            problems.append(f"备注不能超过 {_NOTE_MAX} 个字")
        if day is not None:
            if day.year != year:
                problems.append(f"日期 {day} 不属于 {year} 年")
            elif day in seen:
                problems.append(f"日期 {day} 重复（第 {seen[day]} 行已有）")
            elif work and day.weekday() < 5:
                problems.append(
                    f"{day} 是星期{WEEKDAY_NAMES[day.weekday()]}，本来就上班；调休上班日应为星期六或星期日"
                )
            seen.setdefault(day, line)
        if problems:
            errors.append(f"{where}：" + "；".join(problems))
        else:
            days.append(CalendarDay(date=day, year_id=year, is_workday=work, name=name, note=note))
    if not days and not errors:
        errors.append("文件中没有任何日期")
    if errors:
        raise CalendarImportError(errors)
    return days


def import_calendar_year(year: int, path: str | Path, source: str = "") -> ImportResult:
    """Replace ``year``'s entered days with the file's, in one transaction, and mark the year complete."""
    if not 2000 <= year <= 2100:
        raise CalendarImportError([f"年份 {year} 不在 2000–2100 之间"])
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CalendarImportError([f"无法读取文件 {path}：{exc.strerror or exc}"]) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # Excel on Chinese Windows saves CSV as GBK
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise CalendarImportError(["文件编码无法识别；请另存为 UTF-8 编码的 CSV"]) from exc
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise CalendarImportError([f"CSV 格式错误：{exc}"]) from exc
    days = parse_calendar_rows(year, rows)
    return calendar_year_replace(year, days, source=source)


@transaction.atomic
def calendar_year_replace(year: int, days, source: str = "") -> ImportResult:
    """Replace ``year``'s entered days with ``days`` (objects with date, is_workday, name, note) and mark
    the year complete, in one transaction; then the cache is dropped and, on commit, the due dates,
    public-notice ends and reports' stays that depend on the year are counted again."""
    defaults = {"complete": True, **({"source": source} if source else {})}
    CalendarYear.objects.update_or_create(year=year, defaults=defaults)
    replaced, _detail = CalendarDay.objects.filter(year_id=year).delete()
    CalendarDay.objects.bulk_create(
        CalendarDay(date=d.date, year_id=year, is_workday=d.is_workday, name=d.name, note=d.note) for d in days
    )
    calendar_changed([year])
    return ImportResult(
        year=year,
        holidays=sum(not d.is_workday for d in days),
        workdays=sum(d.is_workday for d in days),
        replaced=replaced,
    )
