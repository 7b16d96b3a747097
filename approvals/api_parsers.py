"""Strict JSON bodies for the API: UTF-8 only, no duplicate keys, no NaN/Infinity, at most MAX_DEPTH levels
of nesting, at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413, checked by Django while reading). A refusal is
a ParseError whose message says what is wrong (approvals.api renders it in the error shape)."""
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32  # the deepest real body (form_data with table rows) is 4 levels

MSG_ENCODING = _("请求内容应为 UTF-8 编码的 JSON")
MSG_DUPLICATE_KEY = _("JSON 中的键“%(key)s”重复")
MSG_TOO_DEEP = _("JSON 嵌套超过 %(max)d 层")
MSG_CONSTANT = _("JSON 中不能使用 %(name)s")
MSG_NOT_JSON = _("请求内容不是有效的 JSON")


class BodyRefused(ParseError):
    def __init__(self, message, code="parse_error"):
        super().__init__(str(message), code=code)
        self.api_message = str(message)
        self.api_code = code


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise BodyRefused(MSG_DUPLICATE_KEY % {"key": key[:50]}, "duplicate_key")
        seen[key] = value
    return seen


def _no_constant(name):
    raise BodyRefused(MSG_CONSTANT % {"name": name})


def _depth_within(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def _max_bracket_depth(text: str) -> int:
    """Nesting of [ and { outside strings, counted before parsing: a body of 100,000 brackets is refused
    without recursing into it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyRefused(MSG_ENCODING, "bad_encoding") from None
        if text.startswith("\ufeff"):
            raise BodyRefused(MSG_ENCODING, "bad_encoding")
        if _max_bracket_depth(text) > MAX_DEPTH:
            raise BodyRefused(MSG_TOO_DEEP % {"max": MAX_DEPTH}, "too_deep")
        try:
            data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
        except BodyRefused:
            raise
        except (ValueError, RecursionError):
            raise BodyRefused(MSG_NOT_JSON) from None
        if not _depth_within(data, MAX_DEPTH):
            raise BodyRefused(MSG_TOO_DEEP % {"max": MAX_DEPTH}, "too_deep")
        return data
