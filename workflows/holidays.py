"""Statutory public holidays computed from the law, for a year whose State Council arrangement is not loaded.

全国年节及纪念日放假办法 as amended by the State Council in 2024 (in force from 2025) gives every citizen
13 days off: 元旦 1 (1 January), 春节 4 (除夕 to 正月初三), 清明节 1 (the solar term 清明), 劳动节 2 (1–2
May), 端午节 1 (五月初五), 中秋节 1 (八月十五), 国庆节 3 (1–3 October). A day of these that falls on a
Saturday or Sunday is made up (补休) on a working day. The yearly notice of the State Council adds
adjusted working days (调休) on top, at its discretion: those cannot be computed, so a year computed
here is provisional (an estimate) until its notice is loaded.

Where the law says "made up on a working day" without saying which, we take the first weekday after the
festival that is not already off; a statutory day that coincides with another festival's (中秋 on 1–3
October, as in 2028) is made up the same way, since the law grants both. The lunar dates and the solar
term come from lunar-python (6tail's lunar, MIT): it converts both ways and computes the 24 solar terms
astronomically for any year, in pure Python with no data files, and is still released (1.4.8, 2025).
lunardate has no solar terms; borax has both but reads tables, and its releases are rarer.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

from lunar_python import Lunar

# The amended rule applies from this year on; earlier years are covered by the chinesecalendar package.
RULE_FROM_YEAR = 2025
MAKE_UP_SUFFIX = "（补休）"
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class ProvisionalDay:
    """A day off computed from the law: a statutory day, or the working day that makes one up."""

    date: date
    name: str
    made_up: bool = False

    @property
    def label(self) -> str:
        return self.name + (MAKE_UP_SUFFIX if self.made_up else "")


def _lunar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    # The solar-term table of a lunar year runs from the winter solstice before it; 清明 (about 5 April)
    # of the Gregorian year is in the table of the lunar year that starts in that Gregorian year.
    solar = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def statutory_days(year: int) -> list[tuple[str, list[date]]]:
    """The festivals of ``year`` and their statutory days, in the order of the law."""
    new_year_eve = _lunar(year, 1, 1) - ONE_DAY  # 除夕 is the last day of the 12th month, the 29th or 30th
    return [
        ("元旦", [date(year, 1, 1)]),
        ("春节", [new_year_eve + timedelta(days=i) for i in range(4)]),
        ("清明节", [_qingming(year)]),
        ("劳动节", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午节", [_lunar(year, 5, 5)]),
        ("中秋节", [_lunar(year, 8, 15)]),
        ("国庆节", [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)]),
    ]


@functools.lru_cache(maxsize=64)
def provisional_days(year: int) -> tuple[ProvisionalDay, ...]:
    """Every day off the law gives in ``year`` (statutory days and their make-up days), by date.

    Empty before RULE_FROM_YEAR: the rule was different then.
    """
    if year < RULE_FROM_YEAR:
        return ()
    off: dict[date, ProvisionalDay] = {}
    festivals = sorted(statutory_days(year), key=lambda festival: festival[1][0])
    for name, days in festivals:
        to_make_up = 0
        for day in days:
            if day.weekday() >= 5 or day in off:
                to_make_up += 1
            off.setdefault(day, ProvisionalDay(day, name))
        day = days[-1]
        while to_make_up:
            day += ONE_DAY
            if day.weekday() < 5 and day not in off:
                off[day] = ProvisionalDay(day, name, made_up=True)
                to_make_up -= 1
    return tuple(sorted(off.values(), key=lambda d: d.date))


@functools.lru_cache(maxsize=64)
def provisional_weekdays_off(year: int) -> frozenset[date]:
    """The Monday–Friday days that the law makes days off in ``year`` (what departs from the weekend rule)."""
    return frozenset(d.date for d in provisional_days(year) if d.date.weekday() < 5)
