"""Load the programs and open this year's batch of each in the demo provinces (idempotent)."""
from django.core.management.base import BaseCommand

from approvals.demo import demo_batches


class Command(BaseCommand):
    help = "载入申报类别并为演示省份开放本年度各类别申报批次"

    def handle(self, *args, **options):
        created = demo_batches()
        self.stdout.write(f"申报批次：新建 {created} 个")
