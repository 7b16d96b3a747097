"""The role-pool index on viewflow's task table (0004) with the columns the pool lists read too: a queue's
count, its steps and its page's ids come from the index alone (docs/scaling.md), not from each task's row."""
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0009_alter_taskdeadline_role"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS workflows_task_pool_cover_idx ON viewflow_task "
            "(owner_permission_obj_pk, owner_permission, status, flow_task_type, created, process_id, flow_task)",
            reverse_sql="DROP INDEX IF EXISTS workflows_task_pool_cover_idx",
        ),
        migrations.RunSQL(
            "DROP INDEX IF EXISTS workflows_task_pool_idx",
            reverse_sql="CREATE INDEX IF NOT EXISTS workflows_task_pool_idx "
                        "ON viewflow_task (owner_permission_obj_pk, owner_permission, status)",
        ),
    ]
