"""Renewal (续期): a certificate keeps the application it was issued for (`issued_for`); `application` is
the application's certificate in force, cleared on the one that was renewed, which links to its successor."""
import django.db.models.deletion
from django.db import migrations, models


def issued_for_from_application(apps, schema_editor):
    Certificate = apps.get_model("printing", "Certificate")
    Certificate.objects.filter(issued_for__isnull=True).update(issued_for_id=models.F("application_id"))


class Migration(migrations.Migration):

    dependencies = [
        ("approvals", "0001_initial"),
        ("printing", "0003_profiles_documents_signing"),
    ]

    operations = [
        migrations.AddField(
            model_name="certificate",
            name="issued_for",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="certificates", to="approvals.application", verbose_name="申报"),
        ),
        migrations.RunPython(issued_for_from_application, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="certificate",
            name="issued_for",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="certificates",
                                    to="approvals.application", verbose_name="申报"),
        ),
        migrations.AlterField(
            model_name="certificate",
            name="application",
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                       related_name="certificate", to="approvals.application", verbose_name="申报"),
        ),
        migrations.AddField(
            model_name="certificate",
            name="renewed_by",
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                       related_name="renews", to="printing.certificate", verbose_name="续期后的证书"),
        ),
        migrations.AlterField(
            model_name="certificate",
            name="status",
            field=models.CharField(choices=[("valid", "有效"), ("revoked", "已撤销"), ("expired", "已过期"),
                                            ("renewed", "已续期")], default="valid", max_length=16,
                                   verbose_name="状态"),
        ),
    ]
