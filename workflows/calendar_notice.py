"""The State Council's yearly holiday notice (国务院办公厅关于××××年部分节假日安排的通知) read from its text.

An administrator pastes the notice as published; `notice_parse` turns its numbered items (e.g.
"一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。") into days off and adjusted
working days, checking each against itself (the weekday in brackets, the day count, 上班 only on a
Saturday or Sunday) and against the law (the span holds the festival's statutory days). Any item it cannot
read is refused with the sentence named, and nothing is written. `notice_diff` compares the result with
the days provisionally computed from the law; `calendar_notice_import` writes it like `load_calendar_year`
(the year's entered days replaced, the year marked complete, the recount queued).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .holidays import RULE_FROM_YEAR, provisional_days, statutory_days
from .workdays import WEEKDAY_NAMES, CalendarImportError, ImportResult, calendar_year_replace, is_workday

FESTIVALS = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
WORKDAY_NAME = "调休上班"
NUMERALS = "一二三四五六七八九十"

# Refusals, shown on the admin page (Chinese source strings; English in the catalogue).
MSG_NO_MONTH = _("日期缺少月份")
MSG_NO_SUCH_DAY = _("日期 %(year)s年%(month)s月%(day)s日不存在")
MSG_WRONG_WEEKDAY = _("%(month)s月%(day)s日是星期%(weekday)s，通知写的是“%(said)s”")
MSG_UNREADABLE_DAY = _("无法识别日期“%(text)s”")
MSG_NOT_A_FESTIVAL = _("“%(names)s”不是法定节日（应为 %(festivals)s）")
MSG_NO_DAYS_OFF = _("没有放假日期")
MSG_OFF_FORM = _("应写作“某月某日（周几）至某日（周几）放假（调休），共几天。”")
MSG_END_BEFORE_START = _("放假结束日期早于开始日期")
MSG_COUNT = _("写明共 %(count)s 天，但 %(start)s至%(end)s是 %(days)s 天")
MSG_DAYS_AFTER_TEXT = _("放假或上班日期应紧接在该条的放假安排之后")
MSG_WORKED_WEEKDAY = _("%(month)s月%(day)s日是星期%(weekday)s，本来就上班；调休上班日应为星期六或星期日")
MSG_WORK_FORM = _("应写作“某月某日（周几）、某月某日（周几）上班。”")
MSG_STATUTORY_LEFT_OUT = _("放假日期未包含法定假日 %(days)s（全国年节及纪念日放假办法）")
MSG_NO_YEAR = _("找不到通知的年份（应有“关于××××年部分节假日安排的通知”或“现将××××年”）")
MSG_YEAR_RANGE = _("年份 %(year)s 不在 2000–2100 之间")
MSG_NO_ITEMS = _("通知中没有“一、元旦：……”这样的放假安排条目")
MSG_UNREADABLE = _("无法读取%(sentence)s：%(problem)s")
MSG_FAR_YEAR = _("%(sentence)s：日期 %(date)s 不在 %(year)s 年前后")
MSG_TWICE = _("%(sentence)s：%(date)s 已在“%(item)s”一条中出现")
MSG_MISSING_FESTIVALS = _("通知中缺少：%(names)s（七个法定节日都应有安排）")

# Pasted text comes with half-width punctuation, spaces and line breaks anywhere: fold them first.
_FOLD = str.maketrans({"(": "（", ")": "）", ":": "：", ",": "，", ";": "；", "\u3000": None, " ": None,
                       "\t": None, "\r": None, "\n": None, "\xa0": None})
_YEAR = re.compile(r"(?:关于|现将)(\d{4})年")
_TITLE = re.compile(r"国务院办公厅关于\d{4}年部分节假日安排的通知")
_NUMBER = re.compile(r"国办发明电〔\d{4}〕\d+号")
# An item starts at the beginning or after a full stop: a numeral, 、, up to 20 characters of names, ：.
_ITEM = re.compile(rf"(?:^|(?<=[。：]))([{NUMERALS}]{{1,3}})、([^：。]{{1,20}})：")
_DAY = r"(?:(?P<{p}y>\d{{4}})年)?(?:(?P<{p}m>\d{{1,2}})月)?(?P<{p}d>\d{{1,2}})日(?:（(?P<{p}note>[^）]*)）)?"
_OFF = re.compile(
    "^" + _DAY.format(p="a") + "(?:至" + _DAY.format(p="b") + ")?"
    r"放假(?:调休)?(?:，?共(?P<count>\d+)天|(?P<count2>\d+)天)?(?:，(?:不调休|与周末连休))?$"
)
_DAY_ONE = re.compile("^" + _DAY.format(p="x") + "$")
_WORK = re.compile(r"^(?P<days>.+)上班$")
_MAKE_UP = re.compile(r"^(?P<days>.+)补休$")
_WEEKDAY_IN_NOTE = re.compile(r"(?:周|星期)([一二三四五六日天])")


@dataclass(frozen=True)
class NoticeDay:
    date: date
    is_workday: bool
    name: str
    note: str = ""


@dataclass(frozen=True)
class ParsedNotice:
    year: int
    source: str
    days: tuple[NoticeDay, ...]

    @property
    def holidays(self) -> int:
        return sum(not d.is_workday for d in self.days)

    @property
    def workdays(self) -> int:
        return sum(d.is_workday for d in self.days)


@dataclass(frozen=True)
class DiffRow:
    """A day whose status differs between the provisional computation, the calendar now, and the notice."""

    date: date
    provisional: str
    current: str
    notice: str

    @property
    def weekday(self) -> str:
        return f"星期{WEEKDAY_NAMES[self.date.weekday()]}"


def _md(day: date) -> str:
    return f"{day.month}月{day.day}日"


class _Refused(Exception):
    """One sentence could not be read; `sentence` names it when it is not the item's first."""

    def __init__(self, problem: str, sentence: str | None = None):
        super().__init__(problem)
        self.sentence = sentence


_DATED_WORDS = ("放假", "上班", "补休")


def _date(match: re.Match, prefix: str, year: int, month: int | None) -> date:
    y = int(match[f"{prefix}y"] or year)
    m = int(match[f"{prefix}m"]) if match[f"{prefix}m"] else month
    if m is None:
        raise _Refused(MSG_NO_MONTH)
    try:
        day = date(y, m, int(match[f"{prefix}d"]))
    except ValueError as exc:
        raise _Refused(MSG_NO_SUCH_DAY % {"year": y, "month": m, "day": match[f"{prefix}d"]}) from exc
    weekday = _WEEKDAY_IN_NOTE.search(match[f"{prefix}note"] or "")
    if weekday and "一二三四五六日".index(weekday[1].replace("天", "日")) != day.weekday():
        raise _Refused(MSG_WRONG_WEEKDAY % {"month": day.month, "day": day.day,
                                             "weekday": WEEKDAY_NAMES[day.weekday()], "said": weekday[0]})
    return day


def _listed_days(text: str, year: int) -> list[date]:
    """"1月26日（周日）、2月8日（周六）" -> dates; a later day may leave out its month."""
    days, month = [], None
    for part in text.split("、"):
        match = _DAY_ONE.match(part)
        if not match:
            raise _Refused(MSG_UNREADABLE_DAY % {"text": part})
        day = _date(match, "x", year, month)
        month = day.month
        days.append(day)
    return days


def _names(head: str) -> list[str]:
    names = head.split("、")
    unknown = [n for n in names if n not in FESTIVALS]
    if unknown:
        raise _Refused(MSG_NOT_A_FESTIVAL % {"names": "、".join(unknown), "festivals": "、".join(FESTIVALS)})
    return names


def _sentences(body: str) -> list[str]:
    return [s + "。" for s in body.split("。") if s]


def _item_days(names: list[str], body: str, year: int) -> list[NoticeDay]:
    """The days of one item. Its first sentence gives the days off; the sentences after it that speak of
    放假, 上班 or 补休 must each be read; the first one that does not ends the item, and none after it
    (up to the next item: the closing paragraph for the last) may speak of them again."""
    sentences = _sentences(body)
    if not sentences:
        raise _Refused(MSG_NO_DAYS_OFF)
    off = _OFF.match(sentences[0].rstrip("。"))
    if not off:
        raise _Refused(MSG_OFF_FORM)
    start = _date(off, "a", year, None)
    end = _date(off, "b", start.year, start.month) if off["bd"] else start
    if end < start:
        raise _Refused(MSG_END_BEFORE_START)
    span = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    count = off["count"] or off["count2"]
    if count is not None and int(count) != len(span):
        raise _Refused(MSG_COUNT % {"count": count, "start": _md(start), "end": _md(end), "days": len(span)})
    # A day off is named after the festival whose statutory day it is, else after the first one named.
    statutory = {d: name for name, days in statutory_days(year) if name in names for d in days}
    result = [NoticeDay(d, False, statutory.get(d, names[0])) for d in span]
    dated = True
    for sentence in sentences[1:]:
        speaks_of_days = any(word in sentence for word in _DATED_WORDS)
        if not dated or not speaks_of_days:
            if speaks_of_days:
                raise _Refused(MSG_DAYS_AFTER_TEXT, sentence)
            dated = False
            continue
        try:
            if work := _WORK.match(sentence.rstrip("。")):
                for day in _listed_days(work["days"], year):
                    if day.weekday() < 5:
                        raise _Refused(MSG_WORKED_WEEKDAY % {"month": day.month, "day": day.day,
                                                             "weekday": WEEKDAY_NAMES[day.weekday()]})
                    result.append(NoticeDay(day, True, WORKDAY_NAME, f"{names[0]}调休"))
            elif make_up := _MAKE_UP.match(sentence.rstrip("。")):
                result += [NoticeDay(d, False, names[0], "补休") for d in _listed_days(make_up["days"], year)]
            else:
                raise _Refused(MSG_WORK_FORM)
        except _Refused as problem:
            raise _Refused(str(problem), sentence) from problem
    if year >= RULE_FROM_YEAR:
        off_days = {d.date for d in result if not d.is_workday}
        missing = [d for name, days in statutory_days(year) if name in names for d in days if d not in off_days]
        if missing:
            raise _Refused(MSG_STATUTORY_LEFT_OUT % {"days": "、".join(_md(d) for d in missing)})
    return result


def _quote(text: str) -> str:
    return f"“{text if len(text) <= 80 else text[:80] + '……'}”"


def notice_parse(text: str) -> ParsedNotice:
    """Read the notice; raise CalendarImportError naming every sentence that could not be read."""
    folded = (text or "").translate(_FOLD)
    year_match = _YEAR.search(folded)
    if not year_match:
        raise CalendarImportError([str(MSG_NO_YEAR)])
    year = int(year_match[1])
    if not 2000 <= year <= 2100:
        raise CalendarImportError([str(MSG_YEAR_RANGE % {"year": year})])
    heads = list(_ITEM.finditer(folded))
    if not heads:
        raise CalendarImportError([str(MSG_NO_ITEMS)])
    errors: list[str] = []
    days: dict[date, tuple[NoticeDay, str]] = {}
    seen: list[str] = []
    for index, head in enumerate(heads):
        body = folded[head.end():heads[index + 1].start() if index + 1 < len(heads) else len(folded)]
        first = head[0] + (_sentences(body) or [""])[0]
        try:
            names = _names(head[2])
            item = _item_days(names, body, year)
        except _Refused as problem:
            errors.append(str(MSG_UNREADABLE % {"sentence": _quote(problem.sentence or first), "problem": problem}))
            continue
        seen += names
        for day in item:
            if day.date.year not in (year - 1, year, year + 1):
                errors.append(str(MSG_FAR_YEAR % {"sentence": _quote(first), "date": day.date, "year": year}))
            elif day.date in days:
                errors.append(str(MSG_TWICE % {"sentence": _quote(first), "date": day.date, "item": days[day.date][1]}))
            else:
                days[day.date] = (day, f"{head[1]}、{head[2]}")
    if not errors:
        missing = [name for name in FESTIVALS if name not in seen]
        if missing:
            errors.append(str(MSG_MISSING_FESTIVALS % {"names": "、".join(missing)}))
    if errors:
        raise CalendarImportError(errors)
    source = " ".join(m[0] for m in (_TITLE.search(folded), _NUMBER.search(folded)) if m)
    return ParsedNotice(
        year=year, source=source or f"国务院办公厅关于{year}年部分节假日安排的通知",
        days=tuple(sorted((d for d, _where in days.values()), key=lambda d: d.date)),
    )


def _status(is_work: bool, name: str = "") -> str:
    return ("上班" if is_work else "放假") + (f"（{name}）" if name else "")


def notice_diff(notice: ParsedNotice) -> list[DiffRow]:
    """Days of the notice's year where the notice differs from the provisional days or from the calendar
    as it stands (the days that confirming would change are those whose `current` differs)."""
    provisional = {d.date: d.label for d in provisional_days(notice.year)}
    listed = {d.date: d for d in notice.days if d.date.year == notice.year}
    rows = []
    for day in sorted(set(provisional) | set(listed)):
        guessed_work = day.weekday() < 5 and day not in provisional
        entry = listed.get(day)
        notice_work = entry.is_workday if entry else day.weekday() < 5
        current_work = is_workday(day)
        if guessed_work != notice_work or current_work != notice_work:
            rows.append(DiffRow(
                date=day,
                provisional=_status(guessed_work, provisional.get(day, "")),
                current=_status(current_work),
                notice=_status(notice_work, (entry.name if not entry.is_workday else entry.note) if entry else ""),
            ))
    return rows


def calendar_notice_import(*, text: str) -> ImportResult:
    """Parse the notice again and write its year in one transaction (see `calendar_year_replace`)."""
    notice = notice_parse(text)
    own_year = [d for d in notice.days if d.date.year == notice.year]
    with transaction.atomic():
        return calendar_year_replace(notice.year, own_year, source=notice.source)
