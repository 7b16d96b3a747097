"""Load or refresh divisions (GB/T 2260, and functional areas) from orgs/data/divisions.csv (or a file
given); print what changed, and tell the administrators of organizations whose division was retired."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from orgs.models import Division
from orgs.services import DEFAULT_DIVISIONS_FILE, DivisionImportError, divisions_import
from workflows.admin_notices import divisions_retired_notify

LISTED = 20  # codes listed per kind of change at the default verbosity


class Command(BaseCommand):
    help = "导入行政区划（幂等；列出新增、更名、迁移、类型变更和停用的代码；文件中不再出现的代码标记为无效，不删除）"

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(DEFAULT_DIVISIONS_FILE))

    def handle(self, *args, file, **options):
        try:
            result = divisions_import(path=file)
        except DivisionImportError as exc:
            raise CommandError(_("区划导入失败，未做任何更改：%s") % exc) from exc
        self.stdout.write(
            _("区划导入完成：共 %(total)d 条，新增 %(created)d，更新 %(updated)d，停用 %(deactivated)d")
            % {k: getattr(result, k) for k in ("total", "created", "updated", "deactivated")}
        )
        diff = result.diff
        listed = set(diff.added) | set(diff.retired) | set(diff.restored)
        names = dict(Division.objects.filter(code__in=listed).values_list("code", "name")) if listed else {}
        sections = [
            (_("新增"), [f"{c} {names[c]}" for c in diff.added]),
            (_("更名"), [f"{c} {old} → {new}" for c, old, new in diff.renamed]),
            (_("迁移（上级区划变更）"), [f"{c} {old or '—'} → {new or '—'}" for c, old, new in diff.moved]),
            (_("类型变更"), [f"{c} {old} → {new}" for c, old, new in diff.retyped]),
            (_("停用"), [f"{c} {names[c]}" for c in diff.retired]),
            (_("恢复有效"), [f"{c} {names[c]}" for c in diff.restored]),
        ]
        # A first import adds thousands of codes: list the first few unless -v 2 asks for every one.
        shown = None if options["verbosity"] >= 2 else LISTED
        for title, items in sections:
            if items:
                line = f"{title}（{len(items)}）：" + "、".join(items[:shown])
                if shown is not None and len(items) > shown:
                    line += _("……（另有 %(more)d 条，加 -v 2 列出全部）") % {"more": len(items) - shown}
                self.stdout.write(line)
        told = divisions_retired_notify(codes=list(diff.retired)) if diff.retired else 0
        if told:
            self.stdout.write(_("%(count)d 个组织所在的区划已停用，已通知管理员") % {"count": told})
