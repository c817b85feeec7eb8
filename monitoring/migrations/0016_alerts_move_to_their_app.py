"""Alerts become their own app (alerts), below dosing; their tables keep their names."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0015_methadone_conflict'),
    ]

    operations = [
        # The tables stay as they are: only Django's idea of which app owns them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='alertaddress',
                    name='clinic',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='acknowledged_by',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='clinic',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='history_user',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='service_user',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='session',
                ),
                migrations.RemoveField(
                    model_name='historicalalertaddress',
                    name='clinic',
                ),
                migrations.RemoveField(
                    model_name='historicalalertaddress',
                    name='history_user',
                ),
                migrations.DeleteModel(
                    name='Alert',
                ),
                migrations.DeleteModel(
                    name='AlertAddress',
                ),
                migrations.DeleteModel(
                    name='HistoricalAlert',
                ),
                migrations.DeleteModel(
                    name='HistoricalAlertAddress',
                ),
            ],
        ),
    ]
