"""Load (or refresh) the programs that are defined as data in approvals/fixtures/programs.json."""
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "载入四类申报类别的配置数据"

    def handle(self, *args, **options):
        call_command("loaddata", "programs", verbosity=0)
        # What each program asks after designation (designations: the annual report's form).
        call_command("loaddata", "follow_up", verbosity=0)
        self.stdout.write("已载入申报类别配置")
