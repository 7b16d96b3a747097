"""Models of this app."""
from .workdays import CalendarDay, CalendarYear  # noqa: F401
