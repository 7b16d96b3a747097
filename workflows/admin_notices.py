"""Notifications to the administrators: next year's holiday arrangement is still missing (a yearly
reminder), and organizations whose division the latest division import retired.

Both go through `notifications_create`, like every other notification, with a key per occasion, so
running them again tells nobody twice; an administrator added later is told on the next run.
"""
import datetime as dt
import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from orgs.models import Organization

from .models import Notification, NotificationKind
from .notifications import Message, _safe_reverse, notifications_create, queue_emails
from .workdays import PROVISIONAL, calendar_status

DEFAULT_REMINDER_DATE = "11-01"


class ReminderDateError(ValueError):
    pass


def administrators() -> QuerySet:
    """Who maintains the calendar and the divisions: the active superusers (the admin pages' users)."""
    return get_user_model().objects.filter(is_active=True, is_superuser=True).order_by("pk")


def reminder_date(year: int) -> dt.date:
    """CALENDAR_REMINDER_DATE ("MM-DD", default 11-01) in ``year``."""
    value = getattr(settings, "CALENDAR_REMINDER_DATE", DEFAULT_REMINDER_DATE) or DEFAULT_REMINDER_DATE
    try:
        month, day = (int(part) for part in value.split("-"))
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ReminderDateError(f"CALENDAR_REMINDER_DATE 应为“月-日”，例如 11-01，实际为“{value}”") from exc


def _not_told(users: QuerySet, kind: str, key: str) -> QuerySet:
    told = Notification.objects.filter(user=OuterRef("pk"), kind=kind, dedup_key__startswith=f"{kind}:{key}:")
    return users.exclude(Exists(told))


def _tell(users: QuerySet, message: Message, key: str) -> int:
    with transaction.atomic():
        ids = notifications_create(batches=[(_not_told(users, message.kind, key), message)], key=key)
        queue_emails(ids)
    return Notification.objects.filter(kind=message.kind, dedup_key__startswith=f"{message.kind}:{key}:").count()


def calendar_missing_remind(*, today: dt.date | None = None) -> int:
    """If ``today`` is on or after this year's reminder date and next year is still provisional, tell
    each administrator once. Returns how many administrators have been told for next year (0 if none
    is due)."""
    today = today or timezone.localdate()
    year = today.year + 1
    if today < reminder_date(today.year) or calendar_status(year) != PROVISIONAL:
        return 0
    body = (
        f"国务院办公厅《关于{year}年部分节假日安排的通知》尚未导入系统。在此之前，{year} 年的节假日按"
        f"《全国年节及纪念日放假办法》推算（暂定），涉及 {year} 年的办理期限和公示结束日期都标为“估算”。"
        f"通知发布后，请在管理后台“年度节假日安排”中点击“从通知导入”，粘贴通知全文，核对差异后确认导入。"
    )
    message = Message(NotificationKind.CALENDAR, f"{year} 年节假日安排尚未录入", body,
                      _safe_reverse("admin:workflows_calendaryear_import_notice"))
    return _tell(administrators(), message, key=f"calendar-{year}")


def divisions_retired_notify(*, codes: list[str], imported_on: dt.date | None = None) -> int:
    """Tell the administrators which organizations sit on a division the import just retired (no longer
    in the official table), so that they can be moved or closed. Returns how many organizations."""
    organizations = list(
        Organization.objects.filter(division_id__in=codes, active=True).select_related("division").order_by("path")
    )
    if not organizations:
        return 0
    imported_on = imported_on or timezone.localdate()
    lines = "\n".join(f"· {o.name}（{o.division_id} {o.division.name}）" for o in organizations)
    body = (
        f"{imported_on} 导入的行政区划中，以下 {len(organizations)} 个组织所在的区划已不在民政部区划代码表中"
        f"（已停用）。这些组织仍可使用，请核实后调整其所在区划或上级组织：\n{lines}"
    )
    message = Message(NotificationKind.DIVISIONS, f"{len(organizations)} 个组织的行政区划已停用", body,
                      _safe_reverse("admin:orgs_organization_changelist"))
    key = f"divisions-{imported_on}-" + hashlib.sha256(",".join(sorted(codes)).encode()).hexdigest()[:16]
    _tell(administrators(), message, key=key)
    return len(organizations)
