"""App config for printing."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrintingConfig(AppConfig):
    name = "printing"
    verbose_name = _("文书打印")

    def ready(self):
        from django.core import checks

        from .checks import check_pdf_support

        checks.register(check_pdf_support)
