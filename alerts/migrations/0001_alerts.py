"""Alerts and the team addresses they are e-mailed to, their tables named as when
they were monitoring's.

A database made before alerts had their own app has these tables already (made by
monitoring's migrations, which 0001_records_and_rollups replaces): they are kept as
they are, and their content types follow, so their permissions keep their ids and
every role that held them still does. A new database gets the tables here.

It replaces alerts 0001_initial, an earlier form of this move that never reached a
clinic."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


MODELS = ['HistoricalAlert', 'HistoricalAlertAddress', 'Alert', 'AlertAddress']


def _tables_adopted_or_made(apps, schema_editor):
    """Make each table, unless an earlier version made it under monitoring."""
    existing = set(schema_editor.connection.introspection.table_names())
    for name in MODELS:
        model = apps.get_model("alerts", name)
        if model._meta.db_table not in existing:
            schema_editor.create_model(model)


def _content_types_follow(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType").objects
    content_types.using(schema_editor.connection.alias).filter(
        app_label="monitoring", model__in=[name.lower() for name in MODELS]
    ).update(app_label="alerts")


class Migration(migrations.Migration):

    replaces = [
        ('alerts', '0001_initial'),
    ]

    initial = True

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
                    name='HistoricalAlert',
                    fields=[
                        ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('missed_dose', 'Missed dose'), ('consecutive_missed', 'Consecutive doses not taken'), ('retitration_required', 'Re-titration required'), ('tox_overdue', 'Tox screen overdue'), ('review_overdue', 'Prescriber review overdue'), ('methadone_uncollected', 'Methadone not collected'), ('breath_missing', 'Breath test missing'), ('register_discrepancy', 'Controlled drugs register discrepancy'), ('place_offered', 'Place offered from the waiting list'), ('adverse_event', 'Adverse event after a dose'), ('observation_overdue', 'Observation not recorded'), ('duplicate_registration', 'Possible duplicate registration'), ('methadone_conflict', 'Methadone reports disagree')], max_length=32)),
                        ('severity', models.PositiveSmallIntegerField(choices=[(1, 'Notice'), (2, 'Warning'), (3, 'Urgent')])),
                        ('cause_key', models.CharField(max_length=120)),
                        ('detail', models.CharField(max_length=300)),
                        ('created_at', models.DateTimeField()),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('acknowledgement_note', models.TextField(blank=True)),
                        ('emailed_at', models.DateTimeField(blank=True, help_text="When the clinic's role addresses were told.", null=True)),
                        ('history_id', models.AutoField(primary_key=True, serialize=False)),
                        ('history_date', models.DateTimeField(db_index=True)),
                        ('history_change_reason', models.TextField(null=True)),
                        ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                        ('acknowledged_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                        ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('service_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.serviceuser')),
                        ('session', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='dosing.dosesession')),
                    ],
                    options={
                        'verbose_name': 'historical alert',
                        'verbose_name_plural': 'historical alerts',
                        'db_table': 'monitoring_historicalalert',
                        'ordering': ('-history_date', '-history_id'),
                        'get_latest_by': ('history_date', 'history_id'),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name='HistoricalAlertAddress',
                    fields=[
                        ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                        ('role', models.CharField(choices=[('Nurse', 'Nurse'), ('Health-care assistant', 'Hca'), ('Prescriber', 'Prescriber'), ('Manager', 'Manager'), ('Pharmacy integration', 'Pharmacy')], max_length=40)),
                        ('email', models.EmailField(max_length=254)),
                        ('history_id', models.AutoField(primary_key=True, serialize=False)),
                        ('history_date', models.DateTimeField(db_index=True)),
                        ('history_change_reason', models.TextField(null=True)),
                        ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                        ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                        ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'historical alert address',
                        'verbose_name_plural': 'historical alert addresss',
                        'db_table': 'monitoring_historicalalertaddress',
                        'ordering': ('-history_date', '-history_id'),
                        'get_latest_by': ('history_date', 'history_id'),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name='Alert',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('missed_dose', 'Missed dose'), ('consecutive_missed', 'Consecutive doses not taken'), ('retitration_required', 'Re-titration required'), ('tox_overdue', 'Tox screen overdue'), ('review_overdue', 'Prescriber review overdue'), ('methadone_uncollected', 'Methadone not collected'), ('breath_missing', 'Breath test missing'), ('register_discrepancy', 'Controlled drugs register discrepancy'), ('place_offered', 'Place offered from the waiting list'), ('adverse_event', 'Adverse event after a dose'), ('observation_overdue', 'Observation not recorded'), ('duplicate_registration', 'Possible duplicate registration'), ('methadone_conflict', 'Methadone reports disagree')], max_length=32)),
                        ('severity', models.PositiveSmallIntegerField(choices=[(1, 'Notice'), (2, 'Warning'), (3, 'Urgent')])),
                        ('cause_key', models.CharField(max_length=120)),
                        ('detail', models.CharField(max_length=300)),
                        ('created_at', models.DateTimeField()),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('acknowledgement_note', models.TextField(blank=True)),
                        ('emailed_at', models.DateTimeField(blank=True, help_text="When the clinic's role addresses were told.", null=True)),
                        ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='eligibility.clinic')),
                        ('service_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='eligibility.serviceuser')),
                        ('session', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='dosing.dosesession')),
                    ],
                    options={
                        'db_table': 'monitoring_alert',
                        'ordering': ['-severity', 'created_at', 'pk'],
                        'permissions': [('acknowledge_alert', 'Can acknowledge an alert'), ('view_duplicate_registration', 'Can see possible duplicate registration alerts')],
                        'indexes': [models.Index(condition=models.Q(('acknowledged_at__isnull', True)), fields=['clinic', '-severity', 'created_at'], name='alert_open_by_clinic_idx'), models.Index(condition=models.Q(('emailed_at__isnull', True)), fields=['created_at'], name='alert_unsent_idx'), models.Index(condition=models.Q(('acknowledged_at__isnull', True)), fields=['service_user', 'created_at'], name='alert_open_by_person_idx')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('acknowledged_at__isnull', True)), fields=('kind', 'cause_key'), name='one_open_alert_per_cause', violation_error_message='This alert is already open.'), models.CheckConstraint(condition=models.Q(models.Q(('acknowledged_at__isnull', True), ('acknowledged_by__isnull', True)), models.Q(('acknowledged_at__isnull', False), ('acknowledged_by__isnull', False), models.Q(('acknowledgement_note', ''), _negated=True)), _connector='OR'), name='alert_acknowledged_with_who_and_note', violation_error_message='An acknowledgement needs who, when and a note.'), models.CheckConstraint(condition=models.Q(('kind__in', ['missed_dose', 'consecutive_missed', 'retitration_required', 'tox_overdue', 'review_overdue', 'methadone_uncollected', 'breath_missing', 'register_discrepancy', 'place_offered', 'adverse_event', 'observation_overdue', 'duplicate_registration', 'methadone_conflict'])), name='alert_kind_valid')],
                    },
                ),
                migrations.CreateModel(
                    name='AlertAddress',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('Nurse', 'Nurse'), ('Health-care assistant', 'Hca'), ('Prescriber', 'Prescriber'), ('Manager', 'Manager'), ('Pharmacy integration', 'Pharmacy')], max_length=40)),
                        ('email', models.EmailField(max_length=254)),
                        ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alert_addresses', to='eligibility.clinic')),
                    ],
                    options={
                        'db_table': 'monitoring_alertaddress',
                        'ordering': ['clinic', 'role'],
                        'constraints': [models.UniqueConstraint(fields=('clinic', 'role'), name='one_alert_address_per_role')],
                    },
                ),
            ],
        ),
        migrations.RunPython(_tables_adopted_or_made, migrations.RunPython.noop),
        migrations.RunPython(_content_types_follow, migrations.RunPython.noop),
    ]
