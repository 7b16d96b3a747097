"""App config for workflows."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("流程")

    def ready(self):
        # The flow class registers its nodes (and viewflow's process permissions) when imported.
        from . import flows  # noqa: F401
