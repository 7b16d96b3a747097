"""Validation of form data against a program's field specification, and its threshold rules."""
import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from printing.glyphs import describe, unprintable_characters

from . import errors as E

# The 申报书 of a form at these limits should render in about 2 s (estimated from ~50 µs a character:
# 900 rows of 1,000 characters took 44.6 s), so every print stays within a web request.
MAX_LIST_ROWS = 50
MAX_FORM_CHARACTERS = 40_000

FIELD_TYPES = {"text", "textarea", "int", "decimal", "date", "email", "phone", "choice", "bool", "list"}
_PHONE = re.compile(r"^[0-9+\-() ]{7,20}$")


def printable_problem(text: str) -> str | None:
    """The message naming the characters of ``text`` that would print as a box, or None."""
    missing = unprintable_characters(text)
    if not missing:
        return None
    return str(E.MSG_UNPRINTABLE % {"chars": "、".join(describe(char) for char in missing)})


def _clean_value(field: dict, value):
    kind = field.get("type", "text")
    if kind in ("text", "textarea"):
        value = str(value).strip()
        if len(value) > field.get("max_length", 5000 if kind == "textarea" else 200):
            raise ValueError(_("内容过长"))
        problem = printable_problem(value)
        if problem:
            raise ValueError(problem)
        return value
    if kind == "int":
        try:
            number = int(str(value).strip())
        except ValueError as exc:
            raise ValueError(_("应为整数")) from exc
        if "min" in field and number < field["min"]:
            raise ValueError(_("不能小于 %(min)s") % field)
        return number
    if kind == "decimal":
        try:
            return str(Decimal(str(value).strip()))
        except InvalidOperation as exc:
            raise ValueError(_("应为数字")) from exc
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value).strip()).isoformat()
        except ValueError as exc:
            raise ValueError(_("日期格式应为 YYYY-MM-DD")) from exc
    if kind == "email":
        try:
            validate_email(str(value).strip())
        except ValidationError as exc:
            raise ValueError(_("电子邮箱格式不正确")) from exc
        return str(value).strip()
    if kind == "phone":
        if not _PHONE.match(str(value).strip()):
            raise ValueError(_("电话号码格式不正确"))
        return str(value).strip()
    if kind == "choice":
        choices = [c[0] if isinstance(c, list | tuple) else c for c in field.get("choices", [])]
        if value not in choices:
            raise ValueError(_("应为以下之一：%s") % "、".join(map(str, choices)))
        return value
    if kind == "bool":
        return bool(value)
    if kind == "list":
        if not isinstance(value, list):
            raise ValueError(_("应为列表"))
        limit = field.get("max_rows", MAX_LIST_ROWS)
        if len(value) > limit:
            raise ValueError(str(E.MSG_TOO_MANY_ROWS % {"max": limit, "count": len(value)}))
        rows = []
        for index, row in enumerate(value, start=1):
            cleaned, errors = validate_form_data(field.get("item_fields", []), row if isinstance(row, dict) else {})
            if errors:
                raise ValueError(_("第 %(n)d 行：%(errors)s") % {
                    "n": index, "errors": "；".join(f"{k} {v}" for k, v in errors.items()),
                })
            rows.append(cleaned)
        return rows
    raise ValueError(_("未知字段类型 %s") % kind)


def _is_empty(value) -> bool:
    return value is None or value == "" or value == []


def validate_form_data(spec: list[dict], data: dict, *, partial: bool = False) -> tuple[dict, dict]:
    """Return (cleaned data, {field name: error}). Unknown keys are dropped. `partial` skips required
    checks so that drafts can be saved half-filled; submission validates in full."""
    cleaned, errors = {}, {}
    for field in spec:
        name = field["name"]
        value = data.get(name)
        if _is_empty(value):
            if field.get("required") and not partial:
                errors[name] = _("“%s”为必填项") % field.get("label", name)
            elif not _is_empty(value) or name in data:
                cleaned[name] = [] if field.get("type") == "list" else ""
            continue
        try:
            cleaned[name] = _clean_value(field, value)
        except ValueError as exc:
            errors[name] = f"{field.get('label', name)}：{exc}"
    if not errors and _text_size(cleaned) > MAX_FORM_CHARACTERS:
        errors["__all__"] = str(E.MSG_FORM_TOO_LONG % {"max": MAX_FORM_CHARACTERS, "count": _text_size(cleaned)})
    return cleaned, errors


def _text_size(value) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(_text_size(v) for v in value)
    return 0


def _rule_applies(rule: dict, data: dict) -> bool:
    return all(data.get(key) == value for key, value in (rule.get("when") or {}).items())


def threshold_actual(rule: dict, data: dict):
    value = data.get(rule["field"])
    if rule["op"] == "min_count":
        rows = value or []
        where = rule.get("where") or {}
        return sum(1 for row in rows if all(row.get(k) == v for k, v in where.items()))
    if rule["op"] == "min_value":
        try:
            return Decimal(str(value))
        except (InvalidOperation, TypeError):
            return Decimal(0)
    raise ValueError(f"unknown threshold op {rule['op']}")


def thresholds_unmet(rules: list[dict], data: dict) -> list[tuple[dict, object]]:
    """The rules that apply to `data` and are not met, each with the actual figure."""
    unmet = []
    for rule in rules:
        if not _rule_applies(rule, data):
            continue
        actual = threshold_actual(rule, data)
        if actual < Decimal(str(rule["value"])):
            unmet.append((rule, actual))
    return unmet
