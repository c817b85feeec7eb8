"""Breath tests, beside the dose sessions that need them, their tables named as when
they were monitoring's.

A database made before breath tests moved to dosing has these tables already
(made by monitoring's migrations, which 0001_records_and_rollups replaces): they are
kept as they are, and their content types follow, so their permissions keep their
ids and every role that held them still does. A new database gets the tables here.

It replaces dosing 0033_breath_tests, an earlier form of this move that never
reached a clinic."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


MODELS = ['HistoricalBreathTest', 'BreathTest']


def _tables_adopted_or_made(apps, schema_editor):
    """Make each table, unless an earlier version made it under monitoring."""
    existing = set(schema_editor.connection.introspection.table_names())
    for name in MODELS:
        model = apps.get_model("dosing", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


def _content_types_follow(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType").objects
    content_types.using(schema_editor.connection.alias).filter(
        app_label="monitoring", model__in=[name.lower() for name in MODELS]
    ).update(app_label="dosing")


class Migration(migrations.Migration):

    replaces = [
        ('dosing', '0033_breath_tests'),
    ]

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('dosing', '0001_prescribing_sessions_and_register'),
        ('eligibility', '0001_clinics_staff_and_service_users'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The state first, so that the tables can be made from it.
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
        migrations.RunPython(_tables_adopted_or_made, migrations.RunPython.noop),
        migrations.RunPython(_content_types_follow, migrations.RunPython.noop),
    ]
