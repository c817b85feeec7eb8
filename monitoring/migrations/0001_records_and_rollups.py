"""Tox screens, methadone collections, the dashboards' permission and their daily
roll-ups, and the scheduler's heartbeat, as the models stand.

Squashed from the migrations it replaces, none of which is needed any more: the
roles' grants and the append-only triggers are installed after every migrate
(core/roles.py, core/append_only.py), and their data steps had nothing to do on a
new database. A database that applied all of them counts this one as applied."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [
        ('monitoring', '0001_initial'),
        ('monitoring', '0002_alerts'),
        ('monitoring', '0003_alert_roles'),
        ('monitoring', '0004_records'),
        ('monitoring', '0005_record_roles'),
        ('monitoring', '0006_role_choices'),
        ('monitoring', '0007_place_offered_alert'),
        ('monitoring', '0008_history_reason_text'),
        ('monitoring', '0009_dashboards'),
        ('monitoring', '0010_dashboard_roles'),
        ('monitoring', '0011_dashboard_rollups'),
        ('monitoring', '0012_adverse_and_observation_alerts'),
        ('monitoring', '0013_duplicate_registration_alert'),
        ('monitoring', '0014_duplicate_registration_roles'),
        ('monitoring', '0015_methadone_conflict'),
    ]

    initial = True

    dependencies = [
        ('dosing', '0001_prescribing_sessions_and_register'),
        ('eligibility', '0001_clinics_staff_and_service_users'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Dashboard',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
            options={
                'permissions': [('view_dashboards', "Can read the managers' dashboards")],
                'managed': False,
                'default_permissions': (),
            },
        ),
        migrations.CreateModel(
            name='Heartbeat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=80, unique=True)),
                ('last_seen_at', models.DateTimeField()),
                ('runs', models.PositiveBigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name='RollupMark',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=40, unique=True)),
                ('through', models.DateField(blank=True, null=True)),
                ('cutoff', models.DateTimeField(blank=True, null=True)),
                ('ran_at', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='HistoricalMethadoneCollection',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('day', models.DateField()),
                ('collected', models.BooleanField()),
                ('note', models.TextField(blank=True)),
                ('source', models.CharField(choices=[('staff', 'Clinic staff'), ('pharmacy', 'Pharmacy integration')], max_length=10)),
                ('recorded_at', models.DateTimeField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('pharmacy', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='dosing.pharmacy')),
                ('recorded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.serviceuser')),
            ],
            options={
                'verbose_name': 'historical methadone collection',
                'verbose_name_plural': 'historical methadone collections',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalToxScreen',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('sample_date', models.DateField()),
                ('street_heroin', models.BooleanField(help_text='Any street heroin marker positive: kept with the screen for the dashboards.')),
                ('notes', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('recorded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.serviceuser')),
            ],
            options={
                'verbose_name': 'historical tox screen',
                'verbose_name_plural': 'historical tox screens',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='MethadoneCollection',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('collected', models.BooleanField()),
                ('note', models.TextField(blank=True)),
                ('source', models.CharField(choices=[('staff', 'Clinic staff'), ('pharmacy', 'Pharmacy integration')], max_length=10)),
                ('recorded_at', models.DateTimeField()),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='methadone_collections', to='eligibility.clinic')),
                ('pharmacy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='dosing.pharmacy')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='methadone_collections', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['-day'],
            },
        ),
        migrations.CreateModel(
            name='MethadoneConflict',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('collected', models.BooleanField()),
                ('note', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField()),
                ('collection', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='conflicts', to='monitoring.methadonecollection')),
                ('pharmacy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='dosing.pharmacy')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['recorded_at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='ToxDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sample_date', models.DateField()),
                ('substance', models.CharField(max_length=20)),
                ('tested', models.PositiveIntegerField(default=0)),
                ('positive', models.PositiveIntegerField(default=0)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='eligibility.clinic')),
            ],
        ),
        migrations.CreateModel(
            name='ToxScreen',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sample_date', models.DateField()),
                ('street_heroin', models.BooleanField(help_text='Any street heroin marker positive: kept with the screen for the dashboards.')),
                ('notes', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField()),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tox_screens', to='eligibility.clinic')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tox_screens', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['-sample_date', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalToxScreenResult',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('substance', models.CharField(choices=[('acetylcodeine', 'Acetylcodeine (street heroin marker)'), ('papaverine', 'Papaverine (street heroin marker)'), ('noscapine', 'Noscapine (street heroin marker)'), ('morphine_6mam', 'Morphine or 6-MAM'), ('methadone_eddp', 'Methadone or EDDP'), ('cocaine', 'Cocaine (benzoylecgonine)'), ('benzodiazepines', 'Benzodiazepines'), ('gabapentinoids', 'Gabapentinoids'), ('amphetamines', 'Amphetamines'), ('cannabis', 'Cannabis'), ('fentanyl', 'Fentanyl'), ('buprenorphine', 'Buprenorphine'), ('alcohol_etg', 'Alcohol (EtG)')], max_length=20)),
                ('result', models.CharField(choices=[('positive', 'Positive'), ('negative', 'Negative'), ('not_tested', 'Not tested')], max_length=12)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('screen', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='monitoring.toxscreen')),
            ],
            options={
                'verbose_name': 'historical tox screen result',
                'verbose_name_plural': 'historical tox screen results',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ToxScreenResult',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('substance', models.CharField(choices=[('acetylcodeine', 'Acetylcodeine (street heroin marker)'), ('papaverine', 'Papaverine (street heroin marker)'), ('noscapine', 'Noscapine (street heroin marker)'), ('morphine_6mam', 'Morphine or 6-MAM'), ('methadone_eddp', 'Methadone or EDDP'), ('cocaine', 'Cocaine (benzoylecgonine)'), ('benzodiazepines', 'Benzodiazepines'), ('gabapentinoids', 'Gabapentinoids'), ('amphetamines', 'Amphetamines'), ('cannabis', 'Cannabis'), ('fentanyl', 'Fentanyl'), ('buprenorphine', 'Buprenorphine'), ('alcohol_etg', 'Alcohol (EtG)')], max_length=20)),
                ('result', models.CharField(choices=[('positive', 'Positive'), ('negative', 'Negative'), ('not_tested', 'Not tested')], max_length=12)),
                ('screen', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='results', to='monitoring.toxscreen')),
            ],
            options={
                'ordering': ['screen', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='AttendanceDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scheduled', models.PositiveIntegerField(default=0)),
                ('administered', models.PositiveIntegerField(default=0)),
                ('withheld', models.PositiveIntegerField(default=0)),
                ('declined', models.PositiveIntegerField(default=0)),
                ('missed', models.PositiveIntegerField(default=0)),
                ('excused', models.PositiveIntegerField(default=0)),
                ('open', models.PositiveIntegerField(default=0)),
                ('clinic_day', models.DateField()),
                ('slot_code', models.CharField(max_length=12)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='eligibility.clinic')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('clinic', 'clinic_day', 'slot_code'), name='one_attendance_day_row')],
            },
        ),
        migrations.CreateModel(
            name='AttendanceWeek',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scheduled', models.PositiveIntegerField(default=0)),
                ('administered', models.PositiveIntegerField(default=0)),
                ('withheld', models.PositiveIntegerField(default=0)),
                ('declined', models.PositiveIntegerField(default=0)),
                ('missed', models.PositiveIntegerField(default=0)),
                ('excused', models.PositiveIntegerField(default=0)),
                ('open', models.PositiveIntegerField(default=0)),
                ('week', models.DateField(help_text='The Monday.')),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='eligibility.clinic')),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='eligibility.serviceuser')),
            ],
            options={
                'indexes': [models.Index(fields=['clinic', 'week'], name='attendance_week_idx')],
                'constraints': [models.UniqueConstraint(fields=('service_user', 'week'), name='one_attendance_week_row')],
            },
        ),
        migrations.AddIndex(
            model_name='methadonecollection',
            index=models.Index(fields=['service_user', '-day'], name='methadone_by_person_idx'),
        ),
        migrations.AddConstraint(
            model_name='methadonecollection',
            constraint=models.UniqueConstraint(fields=('service_user', 'day'), name='one_methadone_record_per_day'),
        ),
        migrations.AddConstraint(
            model_name='toxday',
            constraint=models.UniqueConstraint(fields=('clinic', 'sample_date', 'substance'), name='one_tox_day_row'),
        ),
        migrations.AddIndex(
            model_name='toxscreen',
            index=models.Index(fields=['service_user', '-sample_date'], name='tox_by_person_idx'),
        ),
        migrations.AddIndex(
            model_name='toxscreen',
            index=models.Index(fields=['clinic', 'sample_date'], name='tox_by_clinic_idx'),
        ),
        migrations.AddIndex(
            model_name='toxscreen',
            index=models.Index(fields=['recorded_at'], name='tox_by_recorded_idx'),
        ),
        migrations.AddConstraint(
            model_name='toxscreenresult',
            constraint=models.UniqueConstraint(fields=('screen', 'substance'), name='one_result_per_substance'),
        ),
        migrations.AddConstraint(
            model_name='toxscreenresult',
            constraint=models.CheckConstraint(condition=models.Q(('substance__in', ['acetylcodeine', 'papaverine', 'noscapine', 'morphine_6mam', 'methadone_eddp', 'cocaine', 'benzodiazepines', 'gabapentinoids', 'amphetamines', 'cannabis', 'fentanyl', 'buprenorphine', 'alcohol_etg'])), name='tox_substance_valid'),
        ),
        migrations.AddConstraint(
            model_name='toxscreenresult',
            constraint=models.CheckConstraint(condition=models.Q(('result__in', ['positive', 'negative', 'not_tested'])), name='tox_result_valid'),
        ),
    ]
