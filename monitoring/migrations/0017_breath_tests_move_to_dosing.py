"""Breath tests move beside the dose session that needs them (dosing 0033)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0016_alerts_move_to_their_app'),
    ]

    operations = [
        # The tables stay as they are: only Django's idea of which app owns them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='historicalbreathtest',
                    name='clinic',
                ),
                migrations.RemoveField(
                    model_name='historicalbreathtest',
                    name='history_user',
                ),
                migrations.RemoveField(
                    model_name='historicalbreathtest',
                    name='recorded_by',
                ),
                migrations.RemoveField(
                    model_name='historicalbreathtest',
                    name='service_user',
                ),
                migrations.RemoveField(
                    model_name='historicalbreathtest',
                    name='session',
                ),
                migrations.DeleteModel(
                    name='BreathTest',
                ),
                migrations.DeleteModel(
                    name='HistoricalBreathTest',
                ),
            ],
        ),
    ]
