"""The annual report's copy of its designation (0006) required, and the index of a scope's reports of a year."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('designations', '0006_report_scope_copy'),
    ]

    operations = [
        migrations.AlterField(
            model_name='annualreport',
            name='city',
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+',
                                    to='orgs.organization', verbose_name='市'),
        ),
        migrations.AlterField(
            model_name='annualreport',
            name='province',
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+',
                                    to='orgs.organization', verbose_name='省'),
        ),
        migrations.AddIndex(
            model_name='annualreport',
            index=models.Index(fields=['applicant_path', 'year', 'status'], name='report_scope_year_idx',
                               opclasses=['varchar_pattern_ops', '', '']),
        ),
    ]
