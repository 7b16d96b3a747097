"""Create the demo organizations and users (idempotent) and print new passwords once."""
import unicodedata

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from orgs.demo import DemoSeedError, demo_seed, demo_usernames
from orgs.services import DivisionImportError


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(header: tuple, rows: list[tuple]) -> list[str]:
    """Columns padded by display width, so Chinese text lines up in a terminal."""
    widths = [max(_width(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(str(cell) + " " * (w - _width(str(cell))) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


class Command(BaseCommand):
    help = "创建演示组织与用户（幂等）；新用户的密码只显示一次"

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords", action="store_true", help="为所有演示用户设置新密码并显示"
        )

    def handle(self, *args, reset_passwords=False, **options):
        try:
            rows = demo_seed(reset_passwords=reset_passwords)
        except (DemoSeedError, DivisionImportError) as exc:
            raise CommandError(_("演示数据创建失败，未做任何更改：%s") % exc) from exc
        kept = 0 if reset_passwords else len(demo_usernames()) - len(rows)
        if rows:
            self.stdout.write(_("以下 %(count)d 个演示用户的密码只显示这一次，请妥善保存：") % {"count": len(rows)})
            for line in _table((_("用户名"), _("姓名"), _("组织"), _("角色"), _("密码")), rows):
                self.stdout.write(line)
        if kept:
            self.stdout.write(
                _("%(count)d 个演示用户已存在，保留原密码（如需新密码，请使用 --reset-passwords）") % {"count": kept}
            )
        self.stdout.write(self.style.SUCCESS(_("演示数据已就绪")))
