from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals import errors as E
from approvals.demo import DemoToolsOff, demo_notice_end
from approvals.models import Application, Status


class Command(BaseCommand):
    help = gettext_lazy("仅供演示（DEMO_TOOLS）：让这些申报的公示立即结束（--all：所有已发布的公示）；"
                        "随后定时任务在一分钟内批准，或由省级负责人批准")

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help=gettext_lazy("申报编号"))
        parser.add_argument("--all", action="store_true", help=gettext_lazy("所有公示已发布的申报"))

    def handle(self, *args, ids, all, **options):  # noqa: A002 - the option's name
        if all:
            ids = list(Application.objects.filter(status=Status.PUBLIC_NOTICE, notice_starts_on__isnull=False)
                       .values_list("pk", flat=True))
        if not ids:
            raise CommandError(_("请给出申报编号，或使用 --all"))
        for pk in ids:
            try:
                application = demo_notice_end(application_id=pk)
            except DemoToolsOff as exc:
                raise CommandError(str(exc)) from exc
            except E.ApprovalError as exc:
                raise CommandError(str(exc.message)) from exc
            self.stdout.write(_("申报 %(id)d 的公示已于 %(end)s 结束") % {"id": pk, "end": application.notice_ends_on})
