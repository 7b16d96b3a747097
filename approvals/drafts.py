"""Optimistic concurrency for drafts: every edit names the version it was made on, and a save on a version
that is no longer current is refused with a message that says who changed what since.

The version is the application's audit sequence (`audit_seq`): every write to an application appends an
audit event under the row lock, so the number moves with every change and costs nothing to keep. The API
sends it as the ETag of an application and takes it back in If-Match; the web form carries it in a hidden
field. What changed since a version is read from the audit events after it: an edit event names the
fields it changed in its comment (`changed_fields_comment`), attachments and transitions are events of
their own.

`PATCH` merges form data by key (JSON Merge Patch, RFC 7396, one level deep): keys sent replace theirs,
a key sent as null is removed, keys not sent are kept.
"""
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import errors as E
from .models import AuditEvent

SUBJECT_FIELDS = {
    "subject_name": gettext_lazy("申报主体名称"),
    "uscc": gettext_lazy("统一社会信用代码"),
    "division_code": gettext_lazy("所在区划"),
}
FORM_PREFIX = "form_data."
# At most this many events are named in a message (older ones are summed up).
MAX_EVENTS_TOLD = 5
_ETAG = re.compile(r'^"(\d{1,10})"$')


def etag(application) -> str:
    return f'"{application.audit_seq}"'


@dataclass(frozen=True)
class IfMatch:
    """A version as a client sent it (the If-Match header, or None). The service reads it only after it
    has checked who may edit, so that a missing or malformed header never tells an outsider more than the
    404 the same request gets with a good one."""

    header: str | None

    def version(self) -> int:
        return version_from_if_match(self.header)


def version_from_if_match(header: str | None) -> int:
    """The version an If-Match header names; refused if missing (428) or not one of our ETags (400)."""
    if header is None or not header.strip():
        raise E.VersionRequired(E.MSG_VERSION_REQUIRED)
    match = _ETAG.match(header.strip())
    if match is None:
        raise E.InvalidInput(E.MSG_VERSION_INVALID, value=header.strip()[:40])
    return int(match.group(1))


def form_data_merged(current: dict, patch: dict) -> dict:
    """`current` with `patch` applied by key: a value replaces the key's, None removes the key."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def changed_fields(application, changes: dict) -> list[str]:
    """The names of the fields `changes` gives a new value: subject fields by name, form data keys with
    FORM_PREFIX (so that a form field can never be mistaken for a subject field)."""
    names = []
    for name, value in changes.items():
        if name == "form_data":
            old = application.form_data or {}
            keys = sorted(set(old) | set(value))
            names += [FORM_PREFIX + key for key in keys if old.get(key) != value.get(key)]
        elif name == "division_id":
            if application.division_id != value:
                names.append("division_code")
        elif getattr(application, name) != value:
            names.append(name)
    return names


def changed_fields_comment(names: list[str]) -> str:
    return ",".join(names)


def _label(application, name: str) -> str:
    if name in SUBJECT_FIELDS:
        return str(SUBJECT_FIELDS[name])
    key = name.removeprefix(FORM_PREFIX)
    spec = next((f for f in application.program.form_fields if f["name"] == key), None)
    return spec.get("label", key) if spec else key


def _who(event) -> str:
    if event.actor is None:
        return _("系统")
    return event.actor.get_full_name() or event.actor.first_name or event.actor.get_username()


def _what(application, event, action_label) -> str:
    if event.action == "edit":
        names = [n for n in event.comment.split(",") if n]
        if not names:
            return _("保存了草稿（内容未变）")
        return _("修改了%(fields)s") % {"fields": "、".join(f"“{_label(application, n)}”" for n in names)}
    if event.action == "attach":
        return _("上传了附件“%(name)s”") % {"name": event.comment.split(":")[1] if ":" in event.comment else ""}
    if event.action == "detach":
        return _("删除了附件“%(name)s”") % {"name": event.comment.split(":", 1)[-1]}
    return _("执行了“%(action)s”") % {"action": action_label(event.action)}


def changes_since(application, version: int, action_label) -> tuple[str, dict[str, list[str]]]:
    """(a sentence naming who did what since `version`, {field: [who changed it and when]})."""
    events = list(
        AuditEvent.objects.filter(application_id=application.pk, seq__gt=version)
        .select_related("actor").order_by("seq")
    )
    told = []
    fields: dict[str, list[str]] = {}
    for event in events:
        when = timezone.localtime(event.created_at).strftime("%m-%d %H:%M")
        who = _who(event)
        if len(told) < MAX_EVENTS_TOLD:
            told.append(_("%(who)s 于 %(when)s %(what)s") % {"who": who, "when": when, "what": _what(application, event, action_label)})
        if event.action == "edit":
            for name in filter(None, event.comment.split(",")):
                key = name.removeprefix(FORM_PREFIX)
                fields[key] = [_("已被 %(who)s 于 %(when)s 修改") % {"who": who, "when": when}]
    if len(events) > MAX_EVENTS_TOLD:
        told.append(_("另有 %(count)d 项更改") % {"count": len(events) - MAX_EVENTS_TOLD})
    return "；".join(told), fields


def check_version(application, expected_version: "int | IfMatch", *, action_label) -> None:
    """Refuse a save made on another version than the current one (nothing is changed). `action_label`
    names a transition for the message (the engine's action table)."""
    if isinstance(expected_version, IfMatch):
        expected_version = expected_version.version()
    if expected_version == application.audit_seq:
        return
    if expected_version > application.audit_seq:
        raise E.StaleVersion(E.MSG_VERSION_UNKNOWN, version=expected_version, current=application.audit_seq)
    changes, fields = changes_since(application, expected_version, action_label)
    raise E.StaleVersion(E.MSG_STALE, changes=changes, errors=fields, current=application.audit_seq)
