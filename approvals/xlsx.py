"""Cells of every exported workbook (推荐汇总表, reports.xlsx): numbers and dates keep their Excel types,
and text that Excel or a CSV reader would take for a formula is neutralised.

A text cell only marked as a string still turns into a live formula when someone edits it in Excel and
presses Enter, or saves the sheet as CSV. So text starting with =, +, -, @ (also their full-width forms,
which Excel's Chinese input accepts for formulas), a tab or a carriage return is stored with a leading
apostrophe, the way Excel itself keeps typed text that starts with those characters (OWASP: CSV
injection). The apostrophe stays visible: it shows the reader that the value was typed as text.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def neutralise(text: str) -> str:
    """``text`` as it may be stored in a cell: prefixed with an apostrophe if it could start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_cell(cell, value) -> None:
    """Write ``value`` into ``cell``: int, float and Decimal as numbers, dates as Excel dates (a
    timezone-aware datetime in local time), None as an empty cell, anything else as neutralised text."""
    if value is None or isinstance(value, bool):
        cell.value = value
    elif isinstance(value, int | float | Decimal):
        cell.value = value
    elif isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            from django.utils import timezone

            value = timezone.localtime(value).replace(tzinfo=None)
        cell.value = value
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, dt.date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    else:
        cell.value = neutralise(str(value))
        cell.data_type = "s"


def append_row(sheet, values) -> int:
    """Append one row to ``sheet`` through :func:`write_cell`; returns the row number."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        write_cell(sheet.cell(row, column), value)
    return row
