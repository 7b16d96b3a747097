from django.db import migrations, models


def backfill(apps, schema_editor):
    """Each status-changing event left the status that the previous status-changing event (or the
    creation) entered: give it that event's time and the working days in between. One pass over the
    events in chain order; the calendar is the one in force now (workflows.workdays)."""
    from workflows.workdays import workdays_between

    AuditEvent = apps.get_model("approvals", "AuditEvent")
    batch, entered, current = [], None, None
    events = (AuditEvent.objects.order_by("application_id", "seq")
              .only("id", "application_id", "from_status", "to_status", "created_at").iterator(chunk_size=5000))
    for event in events:
        if event.application_id != current:
            current, entered = event.application_id, None
        if event.from_status == event.to_status:
            continue
        if event.from_status and entered is not None:
            event.from_entered_at = entered
            event.stay_workdays = max(0, workdays_between(entered, event.created_at))
            batch.append(event)
        entered = event.created_at
        if len(batch) >= 5000:
            AuditEvent.objects.bulk_update(batch, ["from_entered_at", "stay_workdays"])
            batch = []
    if batch:
        AuditEvent.objects.bulk_update(batch, ["from_entered_at", "stay_workdays"])


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0002_application_created_desc_idx"),
        ("workflows", "0001_initial"),  # the calendar that counts the working days
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="from_entered_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="stay_workdays",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("stay_workdays__isnull", False)),
                fields=["application", "from_status", "stay_workdays"],
                name="audit_stays_idx",
            ),
        ),
    ]
