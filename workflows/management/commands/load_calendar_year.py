"""Enter one year's public holidays and adjusted working days from a CSV file (see docs/calendar.md)."""
from django.core.management.base import BaseCommand, CommandError

from workflows.workdays import PACKAGE, CalendarImportError, calendar_status, import_calendar_year


class Command(BaseCommand):
    help = (
        "录入某年的节假日安排（国务院办公厅通知）：CSV 每行 日期,是否上班,名称[,备注]。"
        "全部校验通过才在一个事务中导入，替换该年已录入的日期，并把该年标记为已完整录入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("year", type=int, help="年份，例如 2027")
        parser.add_argument("--file", required=True, help="UTF-8 编码的 CSV 文件")
        parser.add_argument("--source", default="", help="依据：通知标题、文号或网址")

    def handle(self, *args, year, file, source, **options):
        try:
            result = import_calendar_year(year, file, source=source)
        except CalendarImportError as exc:
            raise CommandError(f"{year} 年节假日安排导入失败，未做任何更改：\n" + "\n".join(exc.errors)) from exc
        self.stdout.write(
            f"{year} 年节假日安排已导入：放假 {result.holidays} 天，调休上班 {result.workdays} 天"
            f"（替换原有 {result.replaced} 条），该年已标记为完整录入。"
        )
        if calendar_status(year) == PACKAGE:
            self.stdout.write(f"注意：chinesecalendar 包已含 {year} 年数据；录入的日期优先于包内数据。")
