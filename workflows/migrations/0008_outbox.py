"""The outbox takes over: notification jobs and the flush's recovery of undone events become outbox effects.

Before NotificationJob goes, the work it would have recovered is written as pending effects: the notified
events of the last 7 days that no job marked done, and the e-mails never claimed. The relay publishes
them once the workers run the new code."""
import datetime as dt

from django.db import migrations, models
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

# The actions whose events were told when this migration was written (workflows.notifications).
NOTIFIED_ACTIONS = [
    "submit", "sign_off", "recommend", "return", "decline", "accept", "assign_experts", "score", "decide",
    "object", "approve", "issue_certificate", "revoke", "expire", "withdraw",
]


def undone_work_to_effects(apps, schema_editor):
    AuditEvent = apps.get_model("approvals", "AuditEvent")
    Effect = apps.get_model("approvals", "Effect")
    EmailOutbox = apps.get_model("workflows", "EmailOutbox")
    NotificationJob = apps.get_model("workflows", "NotificationJob")
    now = timezone.now()
    done = NotificationJob.objects.filter(application_id=OuterRef("application_id"), audit_seq=OuterRef("seq"))
    events = (
        AuditEvent.objects.filter(created_at__gte=now - dt.timedelta(days=7), action__in=NOTIFIED_ACTIONS)
        .exclude(action="object", from_status=F("to_status"))
        .exclude(Exists(done))
        .values_list("application_id", "seq")
    )
    Effect.objects.bulk_create(
        [Effect(kind="notify_event", key=f"{app}:{seq}", args=[app, seq], kwargs={}, created_at=now, available_at=now)
         for app, seq in events],
        ignore_conflicts=True,
    )
    emails = EmailOutbox.objects.filter(sent_at__isnull=True, failed_at__isnull=True,
                                        sending_started_at__isnull=True).values_list("pk", flat=True)
    Effect.objects.bulk_create(
        [Effect(kind="email_send", key=str(pk), args=[[pk]], kwargs={}, created_at=now, available_at=now)
         for pk in emails],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('workflows', '0007_calendar_provisional_and_admin_notices'),
        ('approvals', '0007_outbox_effect'),
    ]

    operations = [
        migrations.RunPython(undone_work_to_effects, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='notification',
            name='kind',
            field=models.CharField(choices=[('task', '待办任务'), ('returned', '退回修改'), ('decided', '审批结果'), ('certificate', '证书颁发'), ('reminder', '到期提醒'), ('escalation', '逾期督办'), ('expired', '认定到期'), ('calendar', '节假日安排'), ('divisions', '行政区划变更')], max_length=16, verbose_name='类型'),
        ),
        migrations.AlterField(
            model_name='notificationpreference',
            name='kind',
            field=models.CharField(choices=[('task', '待办任务'), ('returned', '退回修改'), ('decided', '审批结果'), ('certificate', '证书颁发'), ('reminder', '到期提醒'), ('escalation', '逾期督办'), ('expired', '认定到期'), ('calendar', '节假日安排'), ('divisions', '行政区划变更')], max_length=16, verbose_name='类型'),
        ),
        migrations.DeleteModel(
            name='NotificationJob',
        ),
    ]
