"""Clinics, their policies, staff, service users and the pathway to treatment, as
the models stand (all but an integration token's pharmacy, which needs dosing's
pharmacies: 0002).

Squashed from the migrations it replaces, none of which is needed any more: the
roles' grants and the append-only triggers are installed after every migrate
(core/roles.py, core/append_only.py), and their data steps had nothing to do on a
new database. A database that applied all of them counts this one as applied."""

import django.core.validators
import django.db.models.deletion
import eligibility.models.pathway
import eligibility.models.service_users
import simple_history.models
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [
        ('eligibility', '0001_initial'),
        ('eligibility', '0002_roles'),
        ('eligibility', '0003_integration_tokens'),
        ('eligibility', '0004_pathway'),
        ('eligibility', '0005_pathway_roles'),
        ('eligibility', '0006_history_reason_text'),
        ('eligibility', '0007_token_roles'),
        ('eligibility', '0008_token_refusals'),
        ('eligibility', '0009_clinicpolicy_observation_grace_minutes'),
        ('eligibility', '0010_count_restarted_at'),
        ('eligibility', '0011_lapse_and_prescribing_limits'),
        ('eligibility', '0012_nhs_number_per_clinic'),
        ('eligibility', '0014_token_refusal_prefix_index'),
        ('eligibility', '0015_access_log'),
        ('eligibility', '0016_access_log_roles'),
        ('eligibility', '0017_second_factor_events'),
        ('eligibility', '0018_second_factor_roles'),
    ]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Clinic',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120, unique=True)),
                ('time_zone', models.CharField(default='Europe/London', help_text='The clinic day and its dose slot windows are in this time zone.', max_length=64)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='ClinicPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('effective_from', models.DateTimeField()),
                ('min_dose_interval_minutes', models.PositiveIntegerField(default=240, help_text='No injection may start sooner than this after the previous one.')),
                ('observation_minutes', models.PositiveIntegerField(default=20, help_text='Minimum post-dose observation after the last injection.')),
                ('observation_grace_minutes', models.PositiveIntegerField(default=30, help_text='How long after the observation time an unrecorded observation raises an alert.')),
                ('topup_gap_minutes', models.PositiveIntegerField(default=20, help_text='Minimum time from the first injection to a top-up.')),
                ('missed_warning_threshold', models.PositiveSmallIntegerField(default=2, help_text='Consecutive sessions not taken that raise a contact warning.')),
                ('retitration_threshold', models.PositiveSmallIntegerField(default=3, help_text='Consecutive sessions not taken that require re-titration.')),
                ('retitration_days', models.PositiveSmallIntegerField(default=3, help_text='Days after the last dose from which re-titration is required, whatever the number of sessions not taken.')),
                ('max_injection_mg', models.DecimalField(decimal_places=2, default=Decimal('400'), help_text='No prescribed session dose may be above this (a hard stop).', max_digits=7, verbose_name='ceiling per injection (mg)')),
                ('maintenance_rise_percent', models.PositiveSmallIntegerField(default=50, help_text='In maintenance, a rise above this over the dose of the last maintenance_rise_days needs a written clinical reason.')),
                ('maintenance_rise_days', models.PositiveSmallIntegerField(default=7, help_text='The days over which a maintenance rise is measured.')),
                ('breath_caution_threshold', models.DecimalField(blank=True, decimal_places=1, help_text='Breath alcohol (µg/100 ml) at or above which a reason is needed to dose. Set by the clinical lead; while unset, alcohol-flagged service users cannot be dosed.', max_digits=6, null=True)),
                ('breath_withhold_threshold', models.DecimalField(blank=True, decimal_places=1, help_text='Breath alcohol (µg/100 ml) at or above which the dose is withheld.', max_digits=6, null=True)),
                ('max_daily_total_mg', models.DecimalField(decimal_places=2, default=Decimal('1000'), help_text="The clinic's ceiling on a daily diamorphine total; never above 1,000 mg.", max_digits=7, validators=[django.core.validators.MaxValueValidator(Decimal('1000'), message='No daily total may be above 1,000 mg (at most 1,000 mg).'), django.core.validators.MinValueValidator(Decimal('1'), message='The daily ceiling must be at least 1 mg.')], verbose_name='daily ceiling (mg)')),
                ('capacity', models.PositiveIntegerField(default=15)),
                ('review_interval_days', models.PositiveSmallIntegerField(default=7)),
                ('tox_interval_days', models.PositiveSmallIntegerField(default=7)),
                ('methadone_uncollected_days', models.PositiveSmallIntegerField(default=3)),
                ('eligibility_levels', models.JSONField(default=eligibility.models.pathway.default_eligibility_levels, help_text='Each eligibility criterion: required, advisory or off.', validators=[eligibility.models.pathway.validate_eligibility_levels])),
                ('reason', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='policies', to='eligibility.clinic')),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'clinic policies',
                'ordering': ['clinic', '-effective_from'],
            },
        ),
        migrations.CreateModel(
            name='DoseSlot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(help_text='Short name, for example AM or PM.', max_length=12)),
                ('opens_at', models.TimeField()),
                ('closes_at', models.TimeField()),
                ('policy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='slots', to='eligibility.clinicpolicy')),
            ],
            options={
                'ordering': ['policy', 'opens_at'],
            },
        ),
        migrations.CreateModel(
            name='EligibilityAssessment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('notes', models.TextField(blank=True)),
                ('assessed_at', models.DateTimeField()),
                ('assessed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('policy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='eligibility.clinicpolicy')),
            ],
            options={
                'ordering': ['-assessed_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='CriterionAnswer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('criterion', models.CharField(choices=[('adult', 'Aged 18 or over'), ('dependent_2_years', 'Opioid dependent for at least 2 years'), ('two_attempts', 'At least 2 earlier treatment attempts that did not help'), ('injecting', 'Current injecting opioid use'), ('stable_on_methadone', 'Stable on methadone before starting'), ('no_contraindication', 'No contraindication (for example severe respiratory disease)'), ('capacity_to_consent', 'Capacity to consent'), ('catchment', 'Lives in the catchment area'), ('agreement', 'Will sign the treatment agreement')], max_length=24)),
                ('level', models.CharField(choices=[('required', 'Required'), ('advisory', 'Advisory'), ('off', 'Off')], help_text='The level when assessed.', max_length=10)),
                ('met', models.BooleanField()),
                ('evidence', models.TextField()),
                ('assessment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='answers', to='eligibility.eligibilityassessment')),
            ],
            options={
                'ordering': ['assessment', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalClinic',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('name', models.CharField(db_index=True, max_length=120)),
                ('time_zone', models.CharField(default='Europe/London', help_text='The clinic day and its dose slot windows are in this time zone.', max_length=64)),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical clinic',
                'verbose_name_plural': 'historical clinics',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalServiceUser',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('nhs_number', models.CharField(max_length=10, validators=[eligibility.models.service_users.validate_nhs_number], verbose_name='NHS number')),
                ('given_name', models.CharField(max_length=100)),
                ('family_name', models.CharField(max_length=100)),
                ('preferred_name', models.CharField(blank=True, help_text='The name or pseudonym staff call the person by.', max_length=100)),
                ('date_of_birth', models.DateField()),
                ('photo', models.TextField(blank=True, max_length=100)),
                ('flag_alcohol', models.BooleanField(default=False, verbose_name='alcohol')),
                ('flag_benzodiazepines', models.BooleanField(default=False, verbose_name='benzodiazepines')),
                ('flag_gabapentinoids', models.BooleanField(default=False, verbose_name='gabapentinoids')),
                ('flag_stimulants', models.BooleanField(default=False, verbose_name='stimulants')),
                ('status', models.CharField(choices=[('referred', 'Referred'), ('assessing', 'Eligibility assessment'), ('declined', 'Declined'), ('waiting', 'Waiting list'), ('titration', 'Induction and titration'), ('maintenance', 'Maintenance'), ('retitration_required', 'Re-titration required'), ('retitration', 'Re-titration'), ('suspended', 'Suspended'), ('exited', 'Exited')], default='referred', max_length=24)),
                ('status_changed_at', models.DateTimeField()),
                ('consecutive_not_taken', models.PositiveSmallIntegerField(default=0, help_text='Consecutive scheduled sessions not taken (missed, withheld, declined).')),
                ('count_restarted_at', models.DateTimeField(blank=True, help_text='When a re-titration prescription last restarted the consecutive count: only sessions whose window closes after it count.', null=True)),
                ('tolerance_lapses_at', models.DateTimeField(blank=True, help_text="The last dose (or re-titration, or return with opioid cover) plus the clinic's re-titration days: from then, re-titration is required.", null=True)),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical service user',
                'verbose_name_plural': 'historical service users',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalStaffMembership',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical staff membership',
                'verbose_name_plural': 'historical staff memberships',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='IntegrationToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text="Who uses it, e.g. the pharmacy's name.", max_length=120)),
                ('role', models.CharField(choices=[('Nurse', 'Nurse'), ('Health-care assistant', 'Hca'), ('Prescriber', 'Prescriber'), ('Manager', 'Manager'), ('Pharmacy integration', 'Pharmacy')], max_length=40)),
                ('key_hash', models.CharField(max_length=64, unique=True)),
                ('key_prefix', models.CharField(help_text="The key's first characters, to tell tokens apart.", max_length=8)),
                ('created_at', models.DateTimeField()),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('account', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='integration_token', to=settings.AUTH_USER_MODEL)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='integration_tokens', to='eligibility.clinic')),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('revoked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['clinic', 'name'],
            },
        ),
        migrations.CreateModel(
            name='Referral',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('referred_by', models.CharField(help_text='Who referred: a person and their service.', max_length=200)),
                ('referral_date', models.DateField()),
                ('substance_use_history', models.TextField()),
                ('treatment_history', models.TextField(help_text='Earlier treatment attempts and how they went.')),
                ('risk_notes', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField()),
                ('decision', models.CharField(blank=True, choices=[('accepted', 'Accepted'), ('declined', 'Declined')], max_length=10)),
                ('decision_reason', models.TextField(blank=True)),
                ('advisory_reason', models.TextField(blank=True, help_text='Why accepted although an advisory criterion is not met.')),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('priority', models.PositiveSmallIntegerField(blank=True, help_text='Waiting list priority: 1 is the most urgent.', null=True)),
                ('offered_at', models.DateTimeField(blank=True, help_text='When a free place was offered.', null=True)),
                ('admitted_at', models.DateTimeField(blank=True, null=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('closed_reason', models.TextField(blank=True)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='eligibility.clinic')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-referral_date', '-pk'],
                'permissions': [('decide_referral', 'Can accept or decline a referral'), ('admit', 'Can admit an accepted service user to treatment')],
            },
        ),
        migrations.CreateModel(
            name='HistoricalEligibilityAssessment',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('notes', models.TextField(blank=True)),
                ('assessed_at', models.DateTimeField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('assessed_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('policy', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinicpolicy')),
                ('referral', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.referral')),
            ],
            options={
                'verbose_name': 'historical eligibility assessment',
                'verbose_name_plural': 'historical eligibility assessments',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.AddField(
            model_name='eligibilityassessment',
            name='referral',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='assessments', to='eligibility.referral'),
        ),
        migrations.CreateModel(
            name='SecondFactorEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('enrolled', 'Set up an authenticator app'), ('recovery_used', 'Logged in with a recovery code'), ('recovery_renewed', 'Made new recovery codes'), ('reset', 'Second factor reset')], max_length=20)),
                ('at', models.DateTimeField()),
                ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('clinic', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='eligibility.clinic')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='second_factor_events', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-at', '-pk'],
                'permissions': [('reset_second_factor', "Can reset a staff member's second factor")],
            },
        ),
        migrations.CreateModel(
            name='ServiceUser',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('nhs_number', models.CharField(max_length=10, validators=[eligibility.models.service_users.validate_nhs_number], verbose_name='NHS number')),
                ('given_name', models.CharField(max_length=100)),
                ('family_name', models.CharField(max_length=100)),
                ('preferred_name', models.CharField(blank=True, help_text='The name or pseudonym staff call the person by.', max_length=100)),
                ('date_of_birth', models.DateField()),
                ('photo', models.ImageField(blank=True, upload_to='service_users/')),
                ('flag_alcohol', models.BooleanField(default=False, verbose_name='alcohol')),
                ('flag_benzodiazepines', models.BooleanField(default=False, verbose_name='benzodiazepines')),
                ('flag_gabapentinoids', models.BooleanField(default=False, verbose_name='gabapentinoids')),
                ('flag_stimulants', models.BooleanField(default=False, verbose_name='stimulants')),
                ('status', models.CharField(choices=[('referred', 'Referred'), ('assessing', 'Eligibility assessment'), ('declined', 'Declined'), ('waiting', 'Waiting list'), ('titration', 'Induction and titration'), ('maintenance', 'Maintenance'), ('retitration_required', 'Re-titration required'), ('retitration', 'Re-titration'), ('suspended', 'Suspended'), ('exited', 'Exited')], default='referred', max_length=24)),
                ('status_changed_at', models.DateTimeField()),
                ('consecutive_not_taken', models.PositiveSmallIntegerField(default=0, help_text='Consecutive scheduled sessions not taken (missed, withheld, declined).')),
                ('count_restarted_at', models.DateTimeField(blank=True, help_text='When a re-titration prescription last restarted the consecutive count: only sessions whose window closes after it count.', null=True)),
                ('tolerance_lapses_at', models.DateTimeField(blank=True, help_text="The last dose (or re-titration, or return with opioid cover) plus the clinic's re-titration days: from then, re-titration is required.", null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='service_users', to='eligibility.clinic')),
            ],
            options={
                'ordering': ['family_name', 'given_name'],
                'permissions': [('change_status', 'Can move a service user along the treatment pathway'), ('view_audit', 'Can read the audit history of records')],
            },
        ),
        migrations.AddField(
            model_name='referral',
            name='service_user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='referrals', to='eligibility.serviceuser'),
        ),
        migrations.CreateModel(
            name='HistoricalReferral',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('referred_by', models.CharField(help_text='Who referred: a person and their service.', max_length=200)),
                ('referral_date', models.DateField()),
                ('substance_use_history', models.TextField()),
                ('treatment_history', models.TextField(help_text='Earlier treatment attempts and how they went.')),
                ('risk_notes', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField()),
                ('decision', models.CharField(blank=True, choices=[('accepted', 'Accepted'), ('declined', 'Declined')], max_length=10)),
                ('decision_reason', models.TextField(blank=True)),
                ('advisory_reason', models.TextField(blank=True, help_text='Why accepted although an advisory criterion is not met.')),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('priority', models.PositiveSmallIntegerField(blank=True, help_text='Waiting list priority: 1 is the most urgent.', null=True)),
                ('offered_at', models.DateTimeField(blank=True, help_text='When a free place was offered.', null=True)),
                ('admitted_at', models.DateTimeField(blank=True, null=True)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('closed_reason', models.TextField(blank=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                ('decided_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('recorded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.serviceuser')),
            ],
            options={
                'verbose_name': 'historical referral',
                'verbose_name_plural': 'historical referrals',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='AccessLog',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('what', models.CharField(choices=[('record', "Service user's page"), ('timeline', 'Timeline'), ('prescriptions', 'Prescriptions'), ('history', 'Audit history'), ('fhir_export', 'FHIR export'), ('csv_export', 'CSV export')], max_length=20)),
                ('export', models.CharField(blank=True, help_text='Which export, by name.', max_length=120)),
                ('at', models.DateTimeField()),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='eligibility.clinic')),
                ('service_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='accesses', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['-at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='StaffMembership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='eligibility.clinic')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='StatusChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_status', models.CharField(blank=True, choices=[('referred', 'Referred'), ('assessing', 'Eligibility assessment'), ('declined', 'Declined'), ('waiting', 'Waiting list'), ('titration', 'Induction and titration'), ('maintenance', 'Maintenance'), ('retitration_required', 'Re-titration required'), ('retitration', 'Re-titration'), ('suspended', 'Suspended'), ('exited', 'Exited')], max_length=24)),
                ('to_status', models.CharField(choices=[('referred', 'Referred'), ('assessing', 'Eligibility assessment'), ('declined', 'Declined'), ('waiting', 'Waiting list'), ('titration', 'Induction and titration'), ('maintenance', 'Maintenance'), ('retitration_required', 'Re-titration required'), ('retitration', 'Re-titration'), ('suspended', 'Suspended'), ('exited', 'Exited')], max_length=24)),
                ('changed_at', models.DateTimeField()),
                ('reason', models.TextField()),
                ('changed_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='status_changes', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['service_user', 'changed_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='TokenRefusal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ip_address', models.GenericIPAddressField(blank=True, null=True)),
                ('key_prefix', models.CharField(blank=True, max_length=8)),
                ('refused_at', models.DateTimeField()),
            ],
            options={
                'indexes': [models.Index(fields=['ip_address', 'refused_at'], name='token_refusal_idx'), models.Index(fields=['key_prefix', 'refused_at'], name='token_refusal_prefix_idx')],
            },
        ),
        migrations.CreateModel(
            name='TreatmentAgreement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('signed_on', models.DateField()),
                ('recorded_at', models.DateTimeField()),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('referral', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='agreement', to='eligibility.referral')),
                ('witness', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.AddIndex(
            model_name='clinicpolicy',
            index=models.Index(fields=['clinic', '-effective_from'], name='policy_in_force_idx'),
        ),
        migrations.AddConstraint(
            model_name='clinicpolicy',
            constraint=models.UniqueConstraint(fields=('clinic', 'effective_from'), name='one_policy_version_per_instant'),
        ),
        migrations.AddConstraint(
            model_name='clinicpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('capacity__gt', 0)), name='policy_capacity_positive', violation_error_message='Capacity must be at least one place.'),
        ),
        migrations.AddConstraint(
            model_name='clinicpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('max_daily_total_mg__gt', 0), ('max_daily_total_mg__lte', Decimal('1000'))), name='policy_daily_ceiling_within_1000mg', violation_error_message='The daily ceiling must be above 0 and at most 1,000 mg.'),
        ),
        migrations.AddConstraint(
            model_name='clinicpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('retitration_threshold__gt', 0), ('missed_warning_threshold__gt', 0), ('missed_warning_threshold__lte', models.F('retitration_threshold'))), name='policy_missed_thresholds_ordered', violation_error_message='The missed-dose warning must come no later than re-titration, and both must be at least 1.'),
        ),
        migrations.AddConstraint(
            model_name='clinicpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('retitration_days__gt', 0), ('max_injection_mg__gt', 0), ('max_injection_mg__lte', models.F('max_daily_total_mg')), ('maintenance_rise_days__gt', 0)), name='policy_lapse_and_injection_limits', violation_error_message='Re-titration days and the maintenance rise period must be at least 1; the ceiling per injection must be above 0 mg and not above the daily ceiling.'),
        ),
        migrations.AddConstraint(
            model_name='clinicpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('breath_caution_threshold__isnull', True), ('breath_withhold_threshold__isnull', True), ('breath_caution_threshold__lte', models.F('breath_withhold_threshold')), _connector='OR'), name='policy_breath_caution_not_above_withhold', violation_error_message='The breath caution threshold must not be above the withhold threshold.'),
        ),
        migrations.AddConstraint(
            model_name='doseslot',
            constraint=models.UniqueConstraint(fields=('policy', 'code'), name='slot_code_unique_in_policy'),
        ),
        migrations.AddConstraint(
            model_name='doseslot',
            constraint=models.CheckConstraint(condition=models.Q(('closes_at__gt', models.F('opens_at'))), name='slot_closes_after_it_opens'),
        ),
        migrations.AddConstraint(
            model_name='criterionanswer',
            constraint=models.UniqueConstraint(fields=('assessment', 'criterion'), name='one_answer_per_criterion'),
        ),
        migrations.AddConstraint(
            model_name='criterionanswer',
            constraint=models.CheckConstraint(condition=models.Q(('evidence', ''), _negated=True), name='answer_has_evidence'),
        ),
        migrations.AddConstraint(
            model_name='integrationtoken',
            constraint=models.CheckConstraint(condition=models.Q(('revoked_at__isnull', True), ('revoked_by__isnull', False), _connector='OR'), name='token_revoked_by_someone'),
        ),
        migrations.AddIndex(
            model_name='secondfactorevent',
            index=models.Index(fields=['user', '-at'], name='second_factor_user_idx'),
        ),
        migrations.AddIndex(
            model_name='serviceuser',
            index=models.Index(fields=['nhs_number'], name='service_user_nhs_number_idx'),
        ),
        migrations.AddIndex(
            model_name='serviceuser',
            index=models.Index(fields=['clinic', 'status'], name='service_user_clinic_status_idx'),
        ),
        migrations.AddIndex(
            model_name='serviceuser',
            index=models.Index(condition=models.Q(('status__in', ('titration', 'maintenance', 'retitration'))), fields=['tolerance_lapses_at'], name='service_user_lapse_idx'),
        ),
        migrations.AddConstraint(
            model_name='serviceuser',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['referred', 'assessing', 'declined', 'waiting', 'titration', 'maintenance', 'retitration_required', 'retitration', 'suspended', 'exited'])), name='service_user_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='serviceuser',
            constraint=models.UniqueConstraint(fields=('clinic', 'nhs_number'), name='service_user_nhs_number_per_clinic'),
        ),
        migrations.AddIndex(
            model_name='referral',
            index=models.Index(condition=models.Q(('admitted_at__isnull', True), ('closed_at__isnull', True), ('decision', 'accepted')), fields=['clinic', 'priority', 'decided_at'], name='referral_waiting_idx'),
        ),
        migrations.AddConstraint(
            model_name='referral',
            constraint=models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True)), fields=('service_user',), name='one_open_referral_per_person', violation_error_message='This person already has an open referral.'),
        ),
        migrations.AddConstraint(
            model_name='referral',
            constraint=models.CheckConstraint(condition=models.Q(('decision', ''), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), models.Q(('decision_reason', ''), _negated=True)), _connector='OR'), name='referral_decided_with_who_when_why'),
        ),
        migrations.AddConstraint(
            model_name='referral',
            constraint=models.CheckConstraint(condition=models.Q(('admitted_at__isnull', True), ('decision', 'accepted'), _connector='OR'), name='referral_admitted_only_if_accepted'),
        ),
        migrations.AddConstraint(
            model_name='referral',
            constraint=models.CheckConstraint(condition=models.Q(('priority__isnull', True), models.Q(('priority__gte', 1), ('priority__lte', 3)), _connector='OR'), name='referral_priority_1_to_3'),
        ),
        migrations.AddIndex(
            model_name='accesslog',
            index=models.Index(fields=['service_user', '-at'], name='access_log_person_idx'),
        ),
        migrations.AddIndex(
            model_name='accesslog',
            index=models.Index(fields=['clinic', '-at'], name='access_log_clinic_idx'),
        ),
        migrations.AddConstraint(
            model_name='staffmembership',
            constraint=models.UniqueConstraint(fields=('user', 'clinic'), name='one_membership_per_clinic'),
        ),
        migrations.AddIndex(
            model_name='statuschange',
            index=models.Index(fields=['service_user', 'changed_at'], name='status_change_timeline_idx'),
        ),
    ]
