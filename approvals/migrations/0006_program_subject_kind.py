"""Programs say what they designate (a unit or the applicant's own division); the demonstration county's
certificate title resolves its division type instead of printing the placeholder "（市）县"."""
from django.db import migrations, models

DIVISION_PROGRAMS = ("innovation-driven-county", "innovation-driven-city")


def forwards(apps, schema_editor):
    Program = apps.get_model("approvals", "Program")
    Program.objects.filter(code__in=DIVISION_PROGRAMS).update(subject_kind="division")
    Program.objects.filter(code="innovation-driven-county", certificate_title="创新驱动示范区（市）县").update(
        certificate_title="创新驱动示范{division_type}"
    )


def backwards(apps, schema_editor):
    Program = apps.get_model("approvals", "Program")
    Program.objects.filter(code="innovation-driven-county", certificate_title="创新驱动示范{division_type}").update(
        certificate_title="创新驱动示范区（市）县"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("approvals", "0005_opinion_decisions_live_subjects"),
    ]

    operations = [
        migrations.AddField(
            model_name="program",
            name="subject_kind",
            field=models.CharField(choices=[("unit", "单位"), ("division", "行政区划")], default="unit",
                                   max_length=16, verbose_name="申报主体类型"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
