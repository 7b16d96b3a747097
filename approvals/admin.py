"""Admin pages for programs, batches, quotas, the ban list and (read-only) applications, audit and the
outbox."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from orgs.admin_scope import ScopedAdminMixin

from .models import Application, AuditEvent, BannedSubject, Batch, BatchQuota, Program
from .outbox import Effect, effects_retry


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "applicant_level", "validity_years", "active")
    search_fields = ("code", "name_zh", "name_en")


class BatchQuotaInline(ScopedAdminMixin, admin.TabularInline):
    model = BatchQuota
    extra = 0
    raw_id_fields = ("city",)
    scope_paths = ("city__path",)

    def scope_of(self, obj):
        return [obj.city.path] if obj.city_id else []


@admin.register(Batch)
class BatchAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """A province's administrators open its batches and set the cities' quotas."""

    scope_paths = ("province__path",)

    def scope_of(self, obj):
        return [obj.province.path] if obj.province_id else []

    list_display = ("name", "program", "province", "year", "opens_on", "closes_on", "notice_workdays")
    list_filter = ("program", "year")
    search_fields = ("name",)
    raw_id_fields = ("province",)
    inlines = [BatchQuotaInline]


@admin.register(BannedSubject)
class BannedSubjectAdmin(admin.ModelAdmin):
    list_display = ("name", "uscc", "barred_until")
    search_fields = ("name", "uscc")


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Read-only: every change goes through approvals.services."""

    list_display = ("subject_name", "program", "applicant", "status", "revision", "created_at")
    list_filter = ("program", "status")
    search_fields = ("subject_name", "uscc")
    list_select_related = ("program", "applicant")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ApplicationAdmin):
    list_display = ("application", "seq", "action", "from_status", "to_status", "actor", "created_at")
    list_filter = ("action",)
    search_fields = ("application__subject_name",)
    list_select_related = ("application", "actor")


@admin.register(Effect)
class EffectAdmin(admin.ModelAdmin):
    """The outbox (approvals.outbox): read-only, with one decision for a person: try set-aside ones again."""

    list_display = ("created_at", "kind", "key", "published_at", "publish_count", "attempts", "done_at",
                    "failed_at", "note")
    list_filter = ("kind", ("done_at", admin.EmptyFieldListFilter), ("failed_at", admin.EmptyFieldListFilter))
    search_fields = ("key",)
    actions = ["try_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("重新执行所选的未完成操作"))
    def try_again(self, request, queryset):
        count = effects_retry(effect_ids=list(queryset.filter(done_at__isnull=True).values_list("pk", flat=True)))
        self.message_user(request, _("已重新放入队列：%(count)d 项") % {"count": count})
