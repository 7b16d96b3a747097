"""An index for the role-pool queues on viewflow's task table (its own model has none for them)."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0003_notification_job"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS workflows_task_pool_idx "
            "ON viewflow_task (owner_permission_obj_pk, owner_permission, status)",
            reverse_sql="DROP INDEX IF EXISTS workflows_task_pool_idx",
        ),
    ]
