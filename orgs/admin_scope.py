"""Admin pages scoped by the organization tree: a 管理员 of X manages rows in X's subtree only.

Which subtrees a person administers is orgs.access's answer (Principal.admin_paths); this mixin applies it
to a ModelAdmin's list, its object pages and its forms. Models without the mixin keep Django's model
permissions, which no scoped administrator is given: they are for system administrators (superusers).
"""
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .access import principal_of
from .models import Organization

MSG_OUT_OF_SCOPE = _("只能管理本组织及下级组织范围内的数据")


class ScopedAdminMixin:
    """Rows whose organization lies in the request user's administered subtrees.

    `scope_paths` names the lookups that lead to an organization path; a row is in scope when one of them
    (for a user: every one of their memberships) starts with an administered path. `scope_of(obj)` gives
    the paths of an unsaved or changed row, so that a form cannot move a row out of scope or create one
    outside it (raw id fields accept any number)."""

    scope_paths: tuple[str, ...] = ()
    duty = "organizations"  # orgs.access.DUTIES: which administrator role manages these rows

    def _admin_paths(self, request) -> set[str]:
        return principal_of(request.user).duty_paths(self.duty)

    def _scoped(self, request) -> bool:
        return not request.user.is_superuser

    def scope_condition(self, paths) -> Q:
        condition = Q(pk__in=[])
        for lookup in self.scope_paths:
            for path in paths:
                condition |= Q(**{f"{lookup}__startswith": path})
        return condition

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not self._scoped(request):
            return qs
        return qs.filter(self.scope_condition(self._admin_paths(request))).distinct()

    def scope_of(self, obj) -> list[str]:
        raise NotImplementedError

    def in_scope(self, request, obj) -> bool:
        if not self._scoped(request):
            return True
        admin_paths = self._admin_paths(request)
        paths = self.scope_of(obj)
        return bool(paths) and all(any(p.startswith(a) for a in admin_paths) for p in paths)

    def has_module_permission(self, request):
        return request.user.is_superuser or bool(self._admin_paths(request))

    def has_view_permission(self, request, obj=None):
        # An inline is asked about its parent row, which the parent's admin has checked already; its own
        # rows are checked by the form.
        if isinstance(self, InlineModelAdmin):
            obj = None
        return self.has_module_permission(request) and (obj is None or self.in_scope(request, obj))

    def has_add_permission(self, request, *args):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return _scoped_form(form, self, request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Every organization list of a scoped page offers the administrator's subtrees only. A raw id field
        # lists nothing (its lookup is the scoped changelist) and keeps its value, such as an organization's
        # parent above the subtree; the form's scope check refuses a number outside it.
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Organization and self._scoped(request) \
                and db_field.name not in self.raw_id_fields and hasattr(field, "queryset"):
            paths = self._admin_paths(request)
            condition = Q(pk__in=[])
            for path in paths:
                condition |= Q(path__startswith=path)
            field.queryset = field.queryset.filter(condition)
        return field

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _scoped_form(formset.form, self, request)
        return formset


def _scoped_form(form_class, model_admin, request):
    """A form whose cleaned row must stay in the request user's scope."""
    class ScopedForm(form_class):
        def _post_clean(self):
            super()._post_clean()
            if self.errors or not model_admin._scoped(request):
                return
            if not model_admin.in_scope(request, self.instance):
                self.add_error(None, ValidationError(MSG_OUT_OF_SCOPE))

    ScopedForm.__name__ = form_class.__name__
    return ScopedForm


class ReferenceDataAdminMixin:
    """Reference data (e.g. the divisions) that scoped administrators read, for the pickers of their forms,
    and only system administrators change."""

    def has_module_permission(self, request):
        return request.user.is_superuser or principal_of(request.user).uses_admin_site()

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
