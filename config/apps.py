"""The administration app with the site of config.admin_site (scoped by the organization tree)."""
from django.contrib.admin.apps import AdminConfig


class KexieAdminConfig(AdminConfig):
    default_site = "config.admin_site.KexieAdminSite"
