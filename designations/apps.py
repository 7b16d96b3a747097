"""App config for designations: the life of a designation after its certificate (授牌后管理)."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DesignationsConfig(AppConfig):
    name = "designations"
    verbose_name = _("授牌管理")
