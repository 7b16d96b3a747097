"""Run the deadline sweep (reminders and escalations) now, optionally as of another date."""
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from workflows.deadlines import deadlines_sweep, reminder_workdays


class Command(BaseCommand):
    help = (
        "到期提醒与逾期督办：按工作日日历，到期前 DEADLINE_REMINDER_WORKDAYS 个工作日提醒办理人，逾期后通知本单位负责人。"
        "可重复运行：每个任务的提醒和督办各只发一次。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", metavar="YYYY-MM-DD", help="按该日期运行（默认今天）")

    def handle(self, *args, now=None, **options):
        today = None
        if now:
            try:
                today = dt.date.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"日期“{now}”格式不对，应为 YYYY-MM-DD") from exc
        result = deadlines_sweep(today=today)
        self.stdout.write(
            f"{today or '今天'}：提醒 {result.reminded} 个任务，督办 {result.escalated} 个任务"
            f"（提前 {reminder_workdays()} 个工作日提醒）。"
        )
