"""Breath tests, moved from monitoring with their tables (monitoring 0017).

On a database that had them, their content types follow, so their permissions keep
their ids and every role that held them still does."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


MODELS = ["breathtest", "historicalbreathtest"]


def _content_types_follow(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType").objects
    content_types.using(schema_editor.connection.alias).filter(
        app_label="monitoring", model__in=MODELS
    ).update(app_label="dosing")

class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('monitoring', '0017_breath_tests_move_to_dosing'),
        ('dosing', '0032_witness_failure_per_clinic'),
        ('eligibility', '0018_second_factor_roles'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay as they are: only Django's idea of which app owns them moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='HistoricalBreathTest',
                    fields=[
                        ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                        ('taken_at', models.DateTimeField()),
                        ('clinic_day', models.DateField(help_text="The clinic's calendar day of taken_at.")),
                        ('reading_mcg_per_100ml', models.DecimalField(decimal_places=1, max_digits=5, verbose_name='reading (µg/100 ml)')),
                        ('recorded_at', models.DateTimeField()),
                        ('history_id', models.AutoField(primary_key=True, serialize=False)),
                        ('history_date', models.DateTimeField(db_index=True)),
                        ('history_change_reason', models.TextField(null=True)),
                        ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                        ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                        ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('recorded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('service_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.serviceuser')),
                        ('session', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='dosing.dosesession')),
                    ],
                    options={
                        'verbose_name': 'historical breath test',
                        'verbose_name_plural': 'historical breath tests',
                        'db_table': 'monitoring_historicalbreathtest',
                        'ordering': ('-history_date', '-history_id'),
                        'get_latest_by': ('history_date', 'history_id'),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name='BreathTest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('taken_at', models.DateTimeField()),
                        ('clinic_day', models.DateField(help_text="The clinic's calendar day of taken_at.")),
                        ('reading_mcg_per_100ml', models.DecimalField(decimal_places=1, max_digits=5, verbose_name='reading (µg/100 ml)')),
                        ('recorded_at', models.DateTimeField()),
                        ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='breath_tests', to='eligibility.clinic')),
                        ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='breath_tests', to='eligibility.serviceuser')),
                        ('session', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='breath_tests', to='dosing.dosesession')),
                    ],
                    options={
                        'db_table': 'monitoring_breathtest',
                        'ordering': ['-taken_at', '-pk'],
                        'indexes': [models.Index(fields=['service_user', 'clinic_day'], name='breath_by_person_day_idx')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('reading_mcg_per_100ml__gte', 0), ('reading_mcg_per_100ml__lte', 500)), name='breath_reading_in_range', violation_error_message='A breath reading is between 0 and 500 µg/100 ml.')],
                    },
                ),
            ],
        ),
        migrations.RunPython(_content_types_follow, migrations.RunPython.noop),
    ]
