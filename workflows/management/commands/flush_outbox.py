"""Run the outbox relay and the sweeper now (after a broker outage, say), instead of waiting for beat."""
from django.core.management.base import BaseCommand

from workflows.notifications import IN_DOUBT_AFTER_SECONDS, emails_in_doubt_set_aside
from workflows.relay import GRACE_SECONDS, REDELIVER_AFTER_SECONDS, outbox_relay


class Command(BaseCommand):
    help = (
        "立即把待办的后续操作（颁证、生成证书 PDF、通知、邮件、重算用时）交给消息代理（例如消息代理中断后），"
        "不必等待定时任务；发送中途工作进程终止、无法确认是否送达的邮件不会自动重发，只记录并标记待人工处理。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--grace", type=int, default=GRACE_SECONDS,
                            help="只处理创建超过这么多秒、尚未发布的操作（默认 %(default)s）")
        parser.add_argument("--redeliver-after", type=int, default=REDELIVER_AFTER_SECONDS,
                            help="已发布超过这么多秒仍未完成的操作重新发布（默认 %(default)s）")
        parser.add_argument("--in-doubt-after", type=int, default=IN_DOUBT_AFTER_SECONDS,
                            help="开始发送超过这么多秒仍未完成的邮件视为中断（默认 %(default)s）")

    def handle(self, *args, grace, redeliver_after, in_doubt_after, **options):
        result = outbox_relay(grace_seconds=grace, redeliver_after_seconds=redeliver_after)
        set_aside = emails_in_doubt_set_aside(in_doubt_after_seconds=in_doubt_after)
        self.stdout.write(f"已放入队列 {result.published} 项（共 {result.due} 项待办），标记待人工处理 {set_aside} 封邮件。")
        if result.published < result.due:
            self.stderr.write("消息代理不可用，其余待办操作将由定时任务稍后放入队列。")
