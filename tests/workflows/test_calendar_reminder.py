"""The yearly reminder: from CALENDAR_REMINDER_DATE (default 1 November) the administrators are told once
each that next year's holiday arrangement is still missing; not before, and not once it is loaded."""
import datetime as dt

import pytest
from django.conf import settings
from django.core import mail

from tests.factories import UserFactory
from workflows.admin_notices import ReminderDateError, calendar_missing_remind
from workflows.models import Notification
from workflows.tasks import remind_missing_calendar
from workflows.workdays import CalendarYear, clear_cache

D = dt.date


@pytest.fixture
def admins(db):
    clear_cache()
    return [UserFactory(username="root1", is_superuser=True, is_staff=True),
            UserFactory(username="root2", is_superuser=True, is_staff=True)]


def told() -> list[tuple]:
    return sorted(Notification.objects.filter(kind="calendar").values_list("user__username", "title", "url"))


def test_the_beat_runs_it_daily_and_the_date_defaults_to_1_november():
    assert settings.CELERY_BEAT_SCHEDULE["remind-missing-calendar"]["task"] == "workflows.tasks.remind_missing_calendar"
    assert settings.CALENDAR_REMINDER_DATE == "11-01"


@pytest.mark.django_db
def test_from_1_november_each_administrator_is_told_once(admins, django_capture_on_commit_callbacks):
    UserFactory(username="clerk")  # not an administrator
    assert calendar_missing_remind(today=D(2026, 10, 31)) == 0
    assert told() == []

    with django_capture_on_commit_callbacks(execute=True):
        assert remind_missing_calendar.delay("2026-11-01").get() == 2
    url = "/admin/workflows/calendaryear/import-notice/"
    assert told() == [("root1", "2027 年节假日安排尚未录入", url), ("root2", "2027 年节假日安排尚未录入", url)]
    body = Notification.objects.filter(kind="calendar").first().body
    assert "《关于2027年部分节假日安排的通知》尚未导入系统" in body and "从通知导入" in body
    assert sorted(m.to[0] for m in mail.outbox) == ["root1@test.kexie.example", "root2@test.kexie.example"]

    # Again the next day: nobody twice; an administrator added since is told.
    UserFactory(username="root3", is_superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert calendar_missing_remind(today=D(2026, 12, 1)) == 3
    assert [u for u, _t, _u in told()] == ["root1", "root2", "root3"]
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_no_reminder_once_next_year_is_loaded(admins):
    CalendarYear.objects.create(year=2027, complete=True, source="测试")
    clear_cache()
    assert calendar_missing_remind(today=D(2026, 11, 1)) == 0
    assert told() == []


@pytest.mark.django_db
def test_no_reminder_for_a_year_the_package_covers(admins):
    # On 2025-11-01 the next year, 2026, is in chinesecalendar 1.11.
    assert calendar_missing_remind(today=D(2025, 11, 1)) == 0
    assert told() == []


@pytest.mark.django_db
def test_the_date_is_configurable(admins, settings):
    settings.CALENDAR_REMINDER_DATE = "12-15"
    assert calendar_missing_remind(today=D(2026, 12, 14)) == 0
    assert calendar_missing_remind(today=D(2026, 12, 15)) == 2
    settings.CALENDAR_REMINDER_DATE = "11/01"
    with pytest.raises(ReminderDateError, match="CALENDAR_REMINDER_DATE 应为“月-日”，例如 11-01，实际为“11/01”"):
        calendar_missing_remind(today=D(2026, 12, 15))
