"""Admin pages for divisions, organizations and memberships, searchable by name and code."""
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Division, Membership, Organization


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "kind", "parent", "active")
    list_filter = ("level", "kind", "active")
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    raw_id_fields = ("parent",)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("tree_name", "kind", "level", "division", "parent", "active")
    list_filter = ("kind", "level", "active")
    # Searching a city's name also lists the organizations directly under it.
    search_fields = ("name", "division__code", "division__name", "parent__name")
    ordering = ("path",)

    @admin.display(description=_("名称（按树排列）"), ordering="path")
    def tree_name(self, obj):
        return format_html("{}{}", "\u3000" * (len(obj.ancestor_ids) - 1), obj.name)
    list_select_related = ("division", "parent")
    raw_id_fields = ("division", "parent")
    readonly_fields = ("path",)
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "valid_from", "valid_until")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name", "organization__name", "organization__division__code")
    list_select_related = ("user", "organization")
    raw_id_fields = ("user", "organization")
