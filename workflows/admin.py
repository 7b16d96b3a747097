"""Admin pages for the working-day calendar: a year's arrangement with its days, the days on their own, and
the import of the State Council's notice from its pasted text (parse, compare with the provisional days,
confirm). Every save, delete or import clears the per-process calendar cache and queues the recount of
the year (workdays.calendar_changed), so due dates computed afterwards use the new entries at once.

Also: task due dates and notifications (read only), the e-mail outbox with a deliberate "send again" for
rows set aside, and delegations, recorded and cancelled through the services.
"""
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from approvals.errors import ApprovalError
from approvals.services import Actor
from orgs.admin_scope import ScopedAdminMixin
from orgs.models import Delegation

from .calendar_notice import calendar_notice_import, notice_diff, notice_parse
from .delegations import delegation_cancel, delegation_check, delegation_create
from .holidays import provisional_days
from .models import EmailOutbox, Notification, TaskDeadline
from .notifications import outbox_retry
from .workdays import (
    PROVISIONAL,
    WEEKDAY_NAMES,
    CalendarDay,
    CalendarImportError,
    CalendarYear,
    calendar_changed,
    calendar_status,
)


def _calendar_years(objs) -> list[int]:
    return [obj.year_id if isinstance(obj, CalendarDay) else obj.year for obj in objs]


class ClearsCalendarCacheMixin:
    """An edited calendar: the cache is dropped and the reports' stays of that year counted again."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar_changed(_calendar_years([obj]))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        calendar_changed(_calendar_years([form.instance]))

    def delete_model(self, request, obj):
        years = _calendar_years([obj])
        super().delete_model(request, obj)
        calendar_changed(years)

    def delete_queryset(self, request, queryset):
        years = _calendar_years(queryset)
        super().delete_queryset(request, queryset)
        calendar_changed(years)


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


class NoticeForm(forms.Form):
    text = forms.CharField(
        label=_("通知全文"), widget=forms.Textarea(attrs={"rows": 18, "cols": 100}),
        help_text=_("从中国政府网复制《国务院办公厅关于××××年部分节假日安排的通知》全文，原样粘贴。"),
    )


@admin.register(CalendarYear)
class CalendarYearAdmin(ClearsCalendarCacheMixin, admin.ModelAdmin):
    list_display = ("year", "complete", "status", "holiday_count", "workday_count", "updated_at")
    list_filter = ("complete",)
    fields = ("year", "complete", "source", "updated_at")
    readonly_fields = ("updated_at",)
    inlines = [CalendarDayInline]
    change_list_template = "admin/workflows/calendaryear/change_list.html"

    def get_urls(self):
        return [
            path("import-notice/", self.admin_site.admin_view(self.import_notice_view),
                 name="workflows_calendaryear_import_notice"),
            *super().get_urls(),
        ]

    def import_notice_view(self, request):
        """Paste the notice, see what it changes, confirm. Superusers only for now."""
        if not request.user.is_superuser:
            raise PermissionDenied
        form = NoticeForm(request.POST or None)
        next_year = timezone.localdate().year + 1
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": gettext("从国务院办公厅通知导入节假日安排"), "next_year": next_year,
                   # What the calendar counts on until the notice is in: the law's days, provisional.
                   "provisional": provisional_days(next_year) if calendar_status(next_year) == PROVISIONAL else ()}
        if request.method == "POST" and form.is_valid():
            text = form.cleaned_data["text"]
            try:
                if "confirm" in request.POST:
                    result = calendar_notice_import(text=text)
                    self.message_user(request, gettext(
                        "已导入 %(year)d 年节假日安排：放假 %(holidays)d 天，调休上班 %(workdays)d 天（替换原有 "
                        "%(replaced)d 条）；办理期限、公示结束日期和报表用时将重新计算。") % result.__dict__)
                    return redirect("admin:workflows_calendaryear_changelist")
                notice = notice_parse(text)
            except CalendarImportError as exc:
                context["errors"] = exc.errors
            else:
                context.update(notice=notice, diff=notice_diff(notice), status=calendar_status(notice.year))
        return TemplateResponse(request, "admin/workflows/calendaryear/import_notice.html", context)

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
            PROVISIONAL: _("未发布：按放假办法推算（暂定，估算）"),
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


# --- deadlines, notifications, the e-mail outbox and delegations ---------------------------------------


@admin.register(TaskDeadline)
class TaskDeadlineAdmin(admin.ModelAdmin):
    list_display = ("task", "application", "stage", "organization", "role", "due_on", "is_estimate",
                    "reminded_at", "escalated_at")
    list_filter = ("stage", "is_estimate", "role")
    search_fields = ("application__subject_name", "organization__name")
    list_select_related = ("task", "application", "organization")
    date_hierarchy = "due_on"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "title", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "title")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EmailOutbox)
class EmailOutboxAdmin(admin.ModelAdmin):
    list_display = ("created_at", "to_email", "subject", "sent_at", "failed_at", "attempts", "last_error")
    list_filter = (("sent_at", admin.EmptyFieldListFilter), ("failed_at", admin.EmptyFieldListFilter))
    search_fields = ("to_email", "subject")
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("重新发送所选的未送达邮件（发送中断的邮件可能因此收到两次）"))
    def send_again(self, request, queryset):
        count = outbox_retry(outbox_ids=list(queryset.filter(sent_at__isnull=True).values_list("pk", flat=True)))
        self.message_user(request, _("已重新放入队列：%(count)d 封") % {"count": count})


class DelegationForm(forms.ModelForm):
    class Meta:
        model = Delegation
        fields = ("delegator", "delegate", "organization", "role", "starts_on", "ends_on", "reason")

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and not self.errors:
            try:
                delegation_check(actor=Actor(user=self.request_user), **{k: data[k] for k in self.Meta.fields})
            except ApprovalError as exc:
                raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(Delegation)
class DelegationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Delegations of the administrator's subtree; the service decides who may record or cancel one."""

    form = DelegationForm
    scope_paths = ("organization__path",)
    duty = "delegations"  # the security administrator's (三员分立)

    def scope_of(self, obj):
        return [obj.organization.path] if obj.organization_id else []

    list_display = ("delegate", "delegator", "organization", "role", "starts_on", "ends_on", "cancelled_at")
    list_filter = ("role",)
    search_fields = ("delegate__username", "delegator__username", "organization__name")
    list_select_related = ("delegate", "delegator", "organization")
    raw_id_fields = ("delegator", "delegate", "organization")
    actions = ["cancel"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def has_delete_permission(self, request, obj=None):
        # Who acted for whom stays on record: a delegation is cancelled, never deleted.
        return False

    def get_readonly_fields(self, request, obj=None):
        # A delegation is recorded, then only cancelled: its terms stay as they were granted.
        return DelegationForm.Meta.fields if obj else ()

    def save_model(self, request, obj, form, change):
        if not change:
            created = delegation_create(actor=Actor(user=request.user), **{
                k: form.cleaned_data[k] for k in DelegationForm.Meta.fields})
            obj.pk = created.pk

    @admin.action(description=_("撤销所选代办授权"))
    def cancel(self, request, queryset):
        for pk in queryset.values_list("pk", flat=True):
            delegation_cancel(actor=Actor(user=request.user), delegation_id=pk)
        self.message_user(request, _("已撤销"))
