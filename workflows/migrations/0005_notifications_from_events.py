from django.db import migrations


def forget_pending_jobs(apps, schema_editor):
    """Jobs not yet done were the old design's record; their events are now found by outbox_flush."""
    apps.get_model("workflows", "NotificationJob").objects.filter(done_at__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("workflows", "0004_task_pool_index")]

    operations = [
        migrations.AlterModelOptions(
            name="notificationjob",
            options={"verbose_name": "已发通知", "verbose_name_plural": "已发通知"},
        ),
        migrations.RemoveIndex(model_name="notificationjob", name="notification_job_pending_idx"),
        migrations.RunPython(forget_pending_jobs, migrations.RunPython.noop, elidable=True),
    ]
