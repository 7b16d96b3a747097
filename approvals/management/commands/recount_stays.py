"""Count again the working days of the reports' stage stays that touch the given years."""
from django.core.management.base import BaseCommand

from approvals.reports import stays_recount


class Command(BaseCommand):
    help = "按当前工作日历重新计算报表中各环节停留的工作日数（指定年份）"

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="+", type=int, help="年份，如 2025 2026")

    def handle(self, *args, years, **options):
        for year in years:
            changed = stays_recount(year=year)
            self.stdout.write(f"{year}: {changed}")
