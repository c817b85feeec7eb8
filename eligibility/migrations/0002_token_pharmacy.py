"""A pharmacy's integration token names its pharmacy (dosing's, made after
eligibility's first migration).

Squashed from the migrations it replaces, none of which is needed any more: the
roles' grants and the append-only triggers are installed after every migrate
(core/roles.py, core/append_only.py), and their data steps had nothing to do on a
new database. A database that applied all of them counts this one as applied."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [
        ('eligibility', '0013_token_pharmacy'),
    ]

    dependencies = [
        ('dosing', '0001_prescribing_sessions_and_register'),
        ('eligibility', '0001_clinics_staff_and_service_users'),
    ]

    operations = [
        migrations.AddField(
            model_name='integrationtoken',
            name='pharmacy',
            field=models.ForeignKey(blank=True, help_text='The pharmacy whose system uses the token.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='integration_tokens', to='dosing.pharmacy'),
        ),
    ]
