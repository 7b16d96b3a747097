"""App config for organizations."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = _("组织机构")

    def ready(self):
        from . import lookups  # noqa: F401  (registers the `under` lookup of tree paths)
