from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.demo import DemoToolsOff, demo_applications
from designations.demo import demo_reporting_window


class Command(BaseCommand):
    help = gettext_lazy("仅供演示（DEMO_TOOLS）：在安徽学会服务站批次中生成各阶段的申报，均经由业务服务办理")

    def handle(self, *args, **options):
        try:
            made = demo_applications()
        except DemoToolsOff as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_("已生成演示申报 %(n)d 件") % {"n": made} if made else _("演示申报已存在，未重复生成"))
        window = demo_reporting_window()
        if window is not None:
            self.stdout.write(_("已开启 %(year)d 年度工作报告填报，截止 %(due)s") % {
                "year": window.year, "due": window.due_on.isoformat()})
