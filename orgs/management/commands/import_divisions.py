"""Load or refresh GB/T 2260 divisions from orgs/data/divisions.csv (or a file given)."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from orgs.services import DEFAULT_DIVISIONS_FILE, DivisionImportError, divisions_import


class Command(BaseCommand):
    help = "导入行政区划（幂等；文件中不再出现的代码标记为无效，不删除）"

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(DEFAULT_DIVISIONS_FILE))

    def handle(self, *args, file, **options):
        try:
            result = divisions_import(path=file)
        except DivisionImportError as exc:
            raise CommandError(_("区划导入失败，未做任何更改：%s") % exc) from exc
        self.stdout.write(
            _("区划导入完成：共 %(total)d 条，新增 %(created)d，更新 %(updated)d，停用 %(deactivated)d")
            % result.__dict__
        )
