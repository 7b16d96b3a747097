"""The annual report's copy of its designation's applicant path, city and province (AnnualReport
.applicant_path): added empty, filled from each report's designation, then required (0007: PostgreSQL
refuses to alter a table with the fill's foreign key checks pending in the same transaction)."""
import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_from_designation(apps, schema_editor):
    AnnualReport = apps.get_model("designations", "AnnualReport")
    Designation = apps.get_model("designations", "Designation")
    of_designation = Designation.objects.filter(pk=OuterRef("designation_id"))
    AnnualReport.objects.update(
        applicant_path=Subquery(of_designation.values("applicant_path")[:1]),
        city_id=Subquery(of_designation.values("city_id")[:1]),
        province_id=Subquery(of_designation.values("province_id")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('designations', '0005_registry_order_index'),
        ('orgs', '0004_alter_delegation_role_alter_membership_role'),
    ]

    operations = [
        migrations.AddField(
            model_name='annualreport',
            name='applicant_path',
            field=models.CharField(default='', editable=False, max_length=255),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='annualreport',
            name='city',
            field=models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name='+', to='orgs.organization', verbose_name='市'),
        ),
        migrations.AddField(
            model_name='annualreport',
            name='province',
            field=models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name='+', to='orgs.organization', verbose_name='省'),
        ),
        migrations.RunPython(copy_from_designation, migrations.RunPython.noop, elidable=False),
    ]
