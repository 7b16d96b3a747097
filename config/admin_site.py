"""The administration site, scoped by the organization tree.

A 管理员 (system administrator) or 安全管理员 (security administrator) of an organization X is staff of this site without being a Django superuser: they see
and change users, memberships, organizations, batches and quotas in X's subtree only (orgs.access decides
what is in it). Everything else of the site (programs, divisions, the calendar, applications, audit
records, outboxes, certificates) is for system administrators, made only with `createsuperuser`.
"""
from django.contrib import admin

from orgs.access import principal_of


class KexieAdminSite(admin.AdminSite):
    def has_permission(self, request):
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        return user.is_superuser or principal_of(user).uses_admin_site()
