"""A documented transfer records its evidence: the service, the last dose there and its
day, and who confirmed it (DOMAIN.md, "Prescribing and titration"). SQLite rebuilds
the table, dropping its append-only trigger: it is protected again."""

from django.db import migrations, models

from core.append_only import protect


class Migration(migrations.Migration):

    dependencies = [
        ('dosing', '0030_prescription_clinical_reason'),
    ]

    operations = [
        migrations.AddField(
            model_name='prescription',
            name='transfer_confirmed_by',
            field=models.CharField(blank=True, default='', help_text="Who confirmed the dose, and how (for example the other service's prescriber, by phone).", max_length=200),
        ),
        migrations.AddField(
            model_name='prescription',
            name='transfer_last_dose_mg',
            field=models.DecimalField(blank=True, decimal_places=2, help_text='The last dose there, as documented (mg of diamorphine).', max_digits=7, null=True),
        ),
        migrations.AddField(
            model_name='prescription',
            name='transfer_last_dose_on',
            field=models.DateField(blank=True, help_text='The day of that last dose.', null=True),
        ),
        migrations.AddField(
            model_name='prescription',
            name='transfer_service',
            field=models.CharField(blank=True, default='', help_text='The service the person comes from.', max_length=200),
        ),
        migrations.AlterField(
            model_name='prescription',
            name='documented_transfer',
            field=models.BooleanField(default=False, help_text='The person transfers from another service on a documented dose, so the new-starter limit does not apply. Its evidence is recorded below.'),
        ),
        migrations.RunPython(*protect(["dosing_prescription"], vendors=("sqlite",))),
    ]
