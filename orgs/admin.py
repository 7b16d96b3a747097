"""Admin pages for divisions, organizations, memberships and users, searchable by name and code; a scoped
administrator (orgs.admin_scope) sees organizations, memberships and users of their subtree only. API tokens
are not shown here at all."""
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import TokenProxy

from security import two_factor

from .access import may_reset_two_factor, principal_of
from .admin_scope import ReferenceDataAdminMixin, ScopedAdminMixin
from .models import ADMINISTRATOR_ROLES, Division, Membership, Organization

# Tokens are credentials: nobody reads them in the admin (a user gets theirs from /api/auth/token/).
# Nor the second factor's secrets: a lost device is reset from the user list (security.two_factor).
for _credential in (TokenProxy, TOTPDevice, StaticDevice):
    if admin.site.is_registered(_credential):
        admin.site.unregister(_credential)


@admin.register(Division)
class DivisionAdmin(ReferenceDataAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "level", "kind", "parent", "active")
    list_filter = ("level", "kind", "active")
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    raw_id_fields = ("parent",)


def _membership_paths(membership) -> list[str]:
    return [membership.organization.path] if membership.organization_id else []


class MembershipInline(ScopedAdminMixin, admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)
    scope_paths = ("organization__path",)
    duty = "memberships"

    def scope_of(self, obj):
        return _membership_paths(obj)


class UserMembershipInline(MembershipInline):
    """A user's memberships, shown to the system administrator who manages the account: the account is
    added with its first membership (which places it in the subtree; not an administrator role), and later
    ones are the security administrator's (the membership list)."""

    duty = "users"

    def has_add_permission(self, request, obj=None):
        return obj is None and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is None and super().has_delete_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        if obj is None and self._scoped(request):
            kwargs.update(min_num=1, validate_min=True)
        formset = super().get_formset(request, obj, **kwargs)
        if self._scoped(request):
            formset.form = _first_membership_form(formset.form)
        return formset


def _first_membership_form(form_class):
    class FirstMembershipForm(form_class):
        def clean_role(self):
            role = self.cleaned_data.get("role")
            if role in ADMINISTRATOR_ROLES:
                raise ValidationError(_("三员分立：管理员、安全管理员、审计员的角色由安全管理员在“成员角色”中授予"))
            return role

    FirstMembershipForm.__name__ = form_class.__name__
    return FirstMembershipForm


@admin.register(Organization)
class OrganizationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_paths = ("path",)

    def scope_of(self, obj):
        # Where the row is, or would be after the form: under its (new) parent.
        parent = (obj.parent.path if obj.parent_id else "/")
        return [parent + (f"{obj.pk}/" if obj.pk else "new/")]

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


def _reset_two_factor(model_admin, request, users):
    """orgs.access.may_reset_two_factor decides for each user; the reset is written to the security log."""
    principal = principal_of(request.user)
    done, refused = 0, []
    for user in sorted(users, key=lambda u: u.pk):
        if may_reset_two_factor(principal, user):
            two_factor.reset(user, actor=request.user, request=request)
            done += 1
        else:
            refused.append(user.get_username())
    if done:
        model_admin.message_user(request, ngettext("已重置 %(n)d 个用户的双因素认证", "已重置 %(n)d 个用户的双因素认证",
                                            done) % {"n": done}, messages.SUCCESS)
    if refused:
        model_admin.message_user(request, _("无权重置以下用户的双因素认证：%(names)s") % {"names": "、".join(refused)},
                          messages.ERROR)


@admin.register(Membership)
class MembershipAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Roles and memberships: the security administrator's (三员分立)."""

    scope_paths = ("organization__path",)
    duty = "memberships"
    actions = ["reset_two_factor"]

    @admin.action(description=_("重置这些成员的双因素认证（下次登录时重新绑定）"))
    def reset_two_factor(self, request, queryset):
        _reset_two_factor(self, request, {m.user for m in queryset.select_related("user")})

    def scope_of(self, obj):
        return _membership_paths(obj)

    list_display = ("user", "organization", "role", "valid_from", "valid_until")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name", "organization__name", "organization__division__code")
    list_select_related = ("user", "organization")
    raw_id_fields = ("user", "organization")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class ScopedUserAdmin(ScopedAdminMixin, UserAdmin):
    """Users whose every membership lies in the administrator's subtree. A user without any membership
    (never given one, or whose last one was deleted) belongs to nobody's subtree and is for system
    administrators; so a scoped administrator creates an account together with its first membership.
    Superusers, staff flags, groups and permissions are for system administrators only."""

    scope_paths = ("memberships__organization__path",)
    inlines = [UserMembershipInline]

    def get_queryset(self, request):
        qs = super(ScopedAdminMixin, self).get_queryset(request)
        if not self._scoped(request):
            return qs
        paths = self._admin_paths(request)
        outside = Membership.objects.exclude(
            self._membership_condition(paths)
        ).values("user_id")
        return qs.filter(is_superuser=False, memberships__isnull=False).exclude(pk__in=outside).distinct()

    @staticmethod
    def _membership_condition(paths) -> Q:
        condition = Q(pk__in=[])
        for path in paths:
            condition |= Q(organization__path__startswith=path)
        return condition

    def scope_of(self, obj):
        if obj.is_superuser:
            return []
        if not obj.pk:
            return ["/"]  # a new account: its first membership (required) is checked by the inline
        return [m.organization.path for m in obj.memberships.select_related("organization")]

    def in_scope(self, request, obj) -> bool:
        if not self._scoped(request):
            return True
        if obj.is_superuser:
            return False
        if not obj.pk:
            return True
        admin_paths = self._admin_paths(request)
        paths = self.scope_of(obj)
        return bool(paths) and all(any(p.startswith(a) for a in admin_paths) for p in paths)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._scoped(request):
            return fieldsets
        hidden = {"is_superuser", "is_staff", "groups", "user_permissions"}
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
                for name, opts in fieldsets]

    def get_list_filter(self, request):
        return () if self._scoped(request) else super().get_list_filter(request)
