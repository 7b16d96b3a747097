"""Admin pages for the working-day calendar: a year's arrangement with its days, and the days on their own.

Every save or delete clears the per-process calendar cache (workdays.clear_cache), so due dates computed
afterwards use the new entries at once.
"""
from django import forms
from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from .workdays import FALLBACK, WEEKDAY_NAMES, CalendarDay, CalendarYear, calendar_status, clear_cache


class ClearsCalendarCacheMixin:
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        clear_cache()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        clear_cache()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        clear_cache()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        clear_cache()


class CalendarDayInlineForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ("date", "is_workday", "name", "note")

    def clean(self):
        data = super().clean()
        day = data.get("date")
        if day and self.instance.year_id and day.year != self.instance.year_id:
            self.add_error("date", _("日期 %(date)s 不属于 %(year)s 年") % {"date": day, "year": self.instance.year_id})
        return data


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    form = CalendarDayInlineForm
    fields = ("date", "is_workday", "name", "note")
    ordering = ("date",)
    extra = 0


@admin.register(CalendarYear)
class CalendarYearAdmin(ClearsCalendarCacheMixin, admin.ModelAdmin):
    list_display = ("year", "complete", "status", "holiday_count", "workday_count", "updated_at")
    list_filter = ("complete",)
    fields = ("year", "complete", "source", "updated_at")
    readonly_fields = ("updated_at",)
    inlines = [CalendarDayInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_holidays=Count("days", filter=Q(days__is_workday=False)),
                n_workdays=Count("days", filter=Q(days__is_workday=True)),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        # The year is the key its days hang on: fixed once created.
        return ("year", *self.readonly_fields) if obj else self.readonly_fields

    @admin.display(description=_("数据来源"))
    def status(self, obj):
        return {
            "package": _("chinesecalendar 包（录入日期优先）"),
            "entered": _("管理员录入"),
            FALLBACK: _("未发布：仅按周末估算"),
        }[calendar_status(obj.year)]

    @admin.display(description=_("放假天数"), ordering="n_holidays")
    def holiday_count(self, obj):
        return obj.n_holidays

    @admin.display(description=_("调休上班天数"), ordering="n_workdays")
    def workday_count(self, obj):
        return obj.n_workdays


@admin.register(CalendarDay)
class CalendarDayAdmin(ClearsCalendarCacheMixin, admin.ModelAdmin):
    list_display = ("date", "weekday", "is_workday", "name", "note")
    list_filter = ("is_workday", "year")
    search_fields = ("name", "note")
    date_hierarchy = "date"
    ordering = ("date",)
    fields = ("date", "is_workday", "name", "note")

    @admin.display(description=_("星期"))
    def weekday(self, obj):
        return _("星期%s") % WEEKDAY_NAMES[obj.date.weekday()]
