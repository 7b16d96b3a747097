"""Queue the notification e-mails that are still in the outbox (after a broker outage, for example)."""
from django.core.management.base import BaseCommand

from workflows.notifications import FLUSH_GRACE_SECONDS, IN_DOUBT_AFTER_SECONDS, outbox_flush


class Command(BaseCommand):
    help = (
        "把发件箱中尚未发送的通知邮件重新放入队列（例如消息代理中断后）；"
        "发送中途工作进程终止、无法确认是否送达的邮件不会自动重发，只记录并标记待人工处理。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--grace", type=int, default=FLUSH_GRACE_SECONDS,
                            help="只处理创建超过这么多秒的邮件（默认 %(default)s）")
        parser.add_argument("--in-doubt-after", type=int, default=IN_DOUBT_AFTER_SECONDS,
                            help="开始发送超过这么多秒仍未完成的邮件视为中断（默认 %(default)s）")

    def handle(self, *args, grace, in_doubt_after, **options):
        queued, set_aside = outbox_flush(grace_seconds=grace, in_doubt_after_seconds=in_doubt_after)
        self.stdout.write(f"已放入队列 {queued} 项（通知任务或邮件），标记待人工处理 {set_aside} 封。")
