"""Fixtures of the workflow tests: the approvals test world, private files in a temporary folder, a clock
that can be set to any day, and a fresh working-day calendar cache."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.approvals.conftest import world  # noqa: F401 - the same small world of organizations and users
from workflows import workdays

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.fixture(autouse=True)
def _fresh_calendar():
    workdays._drop_cache()  # the per-process cache of entered days, without touching the database
    yield
    workdays._drop_cache()


class Clock:
    """Sets what django.utils.timezone.now() returns: 10:00 in Shanghai of a given day."""

    def __init__(self, monkeypatch):
        self._monkeypatch = monkeypatch

    def set(self, day: dt.date, hour: int = 10) -> None:
        moment = dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)
        self._monkeypatch.setattr(timezone, "now", lambda: moment)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)
