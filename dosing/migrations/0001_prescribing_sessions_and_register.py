"""Prescribing, dose sessions, the dosing room, leaving treatment and the
controlled drugs register, as the models stand (breath tests: 0002).

Squashed from the migrations it replaces, none of which is needed any more: the
roles' grants and the append-only triggers are installed after every migrate
(core/roles.py, core/append_only.py), and their data steps had nothing to do on a
new database. A database that applied all of them counts this one as applied."""

import django.db.models.deletion
import simple_history.models
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [
        ('dosing', '0001_initial'),
        ('dosing', '0002_roles'),
        ('dosing', '0003_review'),
        ('dosing', '0004_review_roles'),
        ('dosing', '0005_methadone'),
        ('dosing', '0006_methadone_roles'),
        ('dosing', '0007_exit_plans'),
        ('dosing', '0008_exit_plan_roles'),
        ('dosing', '0009_dose_sessions'),
        ('dosing', '0010_dosing_room'),
        ('dosing', '0011_dosing_room_roles'),
        ('dosing', '0012_amendment'),
        ('dosing', '0013_amendment_roles'),
        ('dosing', '0014_append_only'),
        ('dosing', '0015_session_history'),
        ('dosing', '0016_witness_failures'),
        ('dosing', '0017_missed_scan'),
        ('dosing', '0018_suspensions_and_exits'),
        ('dosing', '0019_leaving_roles'),
        ('dosing', '0020_history_reason_text'),
        ('dosing', '0021_reprotect_history_on_sqlite'),
        ('dosing', '0022_cd_register'),
        ('dosing', '0023_cd_register_append_only_and_roles'),
        ('dosing', '0024_exit_referral'),
        ('dosing', '0025_dashboard_indexes'),
        ('dosing', '0026_session_day_index'),
        ('dosing', '0027_session_page_safety'),
        ('dosing', '0028_amendment_names_its_assessment'),
        ('dosing', '0029_tolerance_from_last_dose'),
        ('dosing', '0030_prescription_clinical_reason'),
        ('dosing', '0031_transfer_evidence'),
        ('dosing', '0032_witness_failure_per_clinic'),
    ]

    initial = True

    dependencies = [
        ('eligibility', '0001_clinics_staff_and_service_users'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MissedScan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('ran_at', models.DateTimeField()),
                ('sessions_missed', models.PositiveIntegerField(default=0)),
            ],
            options={
                'ordering': ['-ran_at'],
            },
        ),
        migrations.CreateModel(
            name='Administration',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sequence', models.PositiveSmallIntegerField()),
                ('drawn_mg', models.DecimalField(decimal_places=2, max_digits=7, verbose_name='drawn up (mg)')),
                ('injected_mg', models.DecimalField(decimal_places=2, max_digits=7, verbose_name='injected (mg)')),
                ('route', models.CharField(choices=[('iv', 'Intravenous'), ('im', 'Intramuscular')], max_length=2)),
                ('site', models.CharField(choices=[('arm', 'Arm'), ('hand', 'Hand'), ('leg', 'Leg'), ('foot', 'Foot'), ('groin', 'Groin (femoral)'), ('deltoid', 'Deltoid'), ('thigh', 'Thigh (vastus lateralis)'), ('gluteal', 'Gluteal')], max_length=10)),
                ('risk_discussion', models.TextField(blank=True)),
                ('injected_at', models.DateTimeField()),
                ('recorded_at', models.DateTimeField()),
                ('nurse', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('witness', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['session', 'sequence'],
                'permissions': [('administer', 'Can supervise and record an injection'), ('witness_dose', 'Can witness an injection')],
            },
        ),
        migrations.CreateModel(
            name='DoseSession',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('clinic_day', models.DateField()),
                ('slot_code', models.CharField(max_length=12)),
                ('opens_at', models.DateTimeField()),
                ('closes_at', models.DateTimeField()),
                ('status', models.CharField(choices=[('scheduled', 'Scheduled'), ('assessed', 'Assessed'), ('deferred', 'Deferred'), ('administered', 'Administered'), ('observed', 'Complete'), ('withheld', 'Withheld'), ('declined', 'Declined'), ('missed', 'Missed'), ('excused', 'Excused')], default='scheduled', max_length=12)),
                ('status_changed_at', models.DateTimeField()),
                ('outcome_reason', models.CharField(blank=True, max_length=12)),
                ('outcome_note', models.TextField(blank=True)),
                ('observation_due_at', models.DateTimeField(blank=True, help_text="When an administered session's observation is overdue: the last injection, plus the observation time, plus the clinic's grace period.", null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='dose_sessions', to='eligibility.clinic')),
                ('outcome_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('policy', models.ForeignKey(help_text='The policy version the session was scheduled under.', on_delete=django.db.models.deletion.PROTECT, related_name='+', to='eligibility.clinicpolicy')),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='dose_sessions', to='eligibility.serviceuser')),
                ('missed_scan', models.ForeignKey(blank=True, help_text='The scan that settled the session when its window closed: missed, or withheld if it was still deferred.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='dosing.missedscan')),
            ],
            options={
                'ordering': ['clinic_day', 'opens_at', 'service_user'],
            },
        ),
        migrations.CreateModel(
            name='Assessment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sequence', models.PositiveSmallIntegerField(default=1)),
                ('decision', models.CharField(choices=[('proceed', 'Go on to the dose'), ('withhold', 'Withhold the dose'), ('defer', 'Defer: reassess later in this window')], default='proceed', max_length=8)),
                ('deferral_reason', models.CharField(blank=True, help_text='For a deferral: the withhold reason that applies if the window closes before a reassessment.', max_length=12)),
                ('identity_confirmed', models.BooleanField()),
                ('poss', models.CharField(choices=[('S', 'S: sleeping, easy to rouse'), ('1', '1: awake and alert'), ('2', '2: slightly drowsy, easily roused'), ('3', '3: frequently drowsy, drifts off to sleep mid-conversation'), ('4', '4: somnolent, minimal or no response')], max_length=1, verbose_name='POSS')),
                ('breath_mcg_per_100ml', models.DecimalField(blank=True, decimal_places=1, max_digits=6, null=True, verbose_name='breath alcohol (µg/100 ml)')),
                ('caution_reason', models.TextField(blank=True)),
                ('assessed_at', models.DateTimeField()),
                ('assessed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='assessments', to='dosing.dosesession')),
            ],
            options={
                'ordering': ['session', 'sequence'],
                'permissions': [('assess', 'Can record a pre-dose assessment')],
            },
        ),
        migrations.CreateModel(
            name='Amendment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('record', models.CharField(choices=[('assessment', 'Assessment'), ('administration', 'Injection'), ('observation', 'Observation'), ('outcome', 'Outcome note')], max_length=14)),
                ('changes', models.JSONField(help_text='{"field": {"from": "...", "to": "..."}}')),
                ('reason', models.TextField()),
                ('amended_at', models.DateTimeField()),
                ('administration', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='dosing.administration')),
                ('amended_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('witness', models.ForeignKey(blank=True, help_text='A correction of an injection is witnessed like the injection itself.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('assessment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='dosing.assessment')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='amendments', to='dosing.dosesession')),
            ],
            options={
                'ordering': ['session', 'amended_at', 'pk'],
                'permissions': [('amend', 'Can correct a dose session record by amendment')],
            },
        ),
        migrations.AddField(
            model_name='administration',
            name='session',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='administrations', to='dosing.dosesession'),
        ),
        migrations.CreateModel(
            name='Exit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('planned', 'Planned'), ('unplanned', 'Unplanned'), ('service_closure', 'Service closure')], max_length=16)),
                ('detail', models.CharField(choices=[('taper_completed', 'Taper completed'), ('oral_treatment', 'Transfer to oral treatment'), ('residential_rehab', 'Transfer to residential rehab'), ('disengaged', 'Disengaged'), ('excluded', 'Excluded for safety'), ('custody', 'Custody'), ('deceased', 'Deceased'), ('service_closure', 'Service closure')], max_length=20)),
                ('reason', models.TextField()),
                ('exited_on', models.DateField()),
                ('recorded_at', models.DateTimeField()),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('referral', models.OneToOneField(blank=True, help_text='The referral (and, once admitted, the treatment episode) this exit closed; the retention dashboard reads episodes from here.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='exit', to='eligibility.referral')),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='exits', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['-exited_on', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalSuspension',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('hospital', 'Hospital admission'), ('custody', 'Custody')], max_length=10)),
                ('starts_on', models.DateField()),
                ('expected_end_on', models.DateField(blank=True, null=True)),
                ('reason', models.TextField()),
                ('status_before', models.CharField(help_text='The status to resume.', max_length=24)),
                ('recorded_at', models.DateTimeField()),
                ('returned_on', models.DateField(blank=True, null=True)),
                ('opioid_cover_confirmed', models.BooleanField(default=False, help_text='A prescriber confirmed opioid cover for the whole time (e.g. hospital gave methadone): no re-titration on return.')),
                ('sessions_missed', models.PositiveIntegerField(blank=True, help_text='Sessions excused during it, counted on return.', null=True)),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('ended_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('recorded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.serviceuser')),
            ],
            options={
                'verbose_name': 'historical suspension',
                'verbose_name_plural': 'historical suspensions',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalDoseSession',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('clinic_day', models.DateField()),
                ('slot_code', models.CharField(max_length=12)),
                ('opens_at', models.DateTimeField()),
                ('closes_at', models.DateTimeField()),
                ('status', models.CharField(choices=[('scheduled', 'Scheduled'), ('assessed', 'Assessed'), ('deferred', 'Deferred'), ('administered', 'Administered'), ('observed', 'Complete'), ('withheld', 'Withheld'), ('declined', 'Declined'), ('missed', 'Missed'), ('excused', 'Excused')], default='scheduled', max_length=12)),
                ('status_changed_at', models.DateTimeField()),
                ('outcome_reason', models.CharField(blank=True, max_length=12)),
                ('outcome_note', models.TextField(blank=True)),
                ('observation_due_at', models.DateTimeField(blank=True, help_text="When an administered session's observation is overdue: the last injection, plus the observation time, plus the clinic's grace period.", null=True)),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('clinic', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinic')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('outcome_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('policy', models.ForeignKey(blank=True, db_constraint=False, help_text='The policy version the session was scheduled under.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.clinicpolicy')),
                ('service_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.serviceuser')),
                ('missed_scan', models.ForeignKey(blank=True, db_constraint=False, help_text='The scan that settled the session when its window closed: missed, or withheld if it was still deferred.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='dosing.missedscan')),
            ],
            options={
                'verbose_name': 'historical dose session',
                'verbose_name_plural': 'historical dose sessions',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='Observation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('outcome', models.CharField(choices=[('no_concerns', 'No concerns'), ('left_early', 'Left before the observation ended'), ('adverse_event', 'Adverse event')], max_length=14)),
                ('over_sedation', models.BooleanField(default=False)),
                ('overdose', models.BooleanField(default=False)),
                ('naloxone_mg', models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True)),
                ('naloxone_at', models.DateTimeField(blank=True, null=True)),
                ('ambulance_called', models.BooleanField(default=False)),
                ('details', models.TextField(blank=True)),
                ('observed_at', models.DateTimeField()),
                ('observed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('session', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='observation', to='dosing.dosesession')),
            ],
            options={
                'permissions': [('observe', 'Can record a post-dose observation')],
            },
        ),
        migrations.CreateModel(
            name='Pharmacy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120)),
                ('address', models.TextField()),
                ('ods_code', models.CharField(blank=True, max_length=10, verbose_name='ODS code')),
                ('phone', models.CharField(blank=True, max_length=30)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pharmacies', to='eligibility.clinic')),
            ],
            options={
                'verbose_name_plural': 'pharmacies',
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='MethadonePrescription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField()),
                ('nightly_dose_mg', models.DecimalField(decimal_places=2, max_digits=6, verbose_name='nightly dose (mg)')),
                ('valid_from', models.DateTimeField()),
                ('valid_to', models.DateTimeField(blank=True, null=True)),
                ('reason', models.TextField()),
                ('issued_at', models.DateTimeField()),
                ('prescriber', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='methadone_prescriptions', to='eligibility.serviceuser')),
                ('pharmacy', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='dosing.pharmacy')),
            ],
            options={
                'ordering': ['service_user', '-valid_from', '-version'],
            },
        ),
        migrations.CreateModel(
            name='Prescription',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version', models.PositiveIntegerField()),
                ('purpose', models.CharField(choices=[('induction', 'Induction (first prescription)'), ('titration', 'Titration'), ('maintenance', 'Maintenance'), ('retitration', 'Re-titration'), ('reduction', 'Reduction')], max_length=16)),
                ('drug', models.CharField(default='diamorphine hydrochloride', editable=False, max_length=60)),
                ('route_iv', models.BooleanField(default=True, verbose_name='intravenous')),
                ('route_im', models.BooleanField(default=False, verbose_name='intramuscular')),
                ('topup_max_mg', models.DecimalField(blank=True, decimal_places=2, help_text='At most this much more in a session, at least the top-up gap after the first injection.', max_digits=7, null=True, verbose_name='top-up allowance (mg)')),
                ('max_daily_total_mg', models.DecimalField(decimal_places=2, max_digits=7, verbose_name='maximum daily total (mg)')),
                ('valid_from', models.DateTimeField()),
                ('valid_to', models.DateTimeField(blank=True, null=True)),
                ('documented_transfer', models.BooleanField(default=False, help_text='The person transfers from another service on a documented dose, so the new-starter limit does not apply. Its evidence is recorded below.')),
                ('transfer_service', models.CharField(blank=True, default='', help_text='The service the person comes from.', max_length=200)),
                ('transfer_last_dose_mg', models.DecimalField(blank=True, decimal_places=2, help_text='The last dose there, as documented (mg of diamorphine).', max_digits=7, null=True)),
                ('transfer_last_dose_on', models.DateField(blank=True, help_text='The day of that last dose.', null=True)),
                ('transfer_confirmed_by', models.CharField(blank=True, default='', help_text="Who confirmed the dose, and how (for example the other service's prescriber, by phone).", max_length=200)),
                ('reason', models.TextField()),
                ('clinical_reason', models.TextField(blank=True, default='', help_text="The written clinical reason a dose above a limit needs: a re-titration restart above half the dose before the lapse, or a maintenance rise above the clinic's step.")),
                ('caution', models.TextField(blank=True, default='', help_text='The limit the clinical reason answers, with its numbers: shown on the review page.')),
                ('issued_at', models.DateTimeField()),
                ('prescriber', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='prescriptions_issued', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='prescriptions', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['service_user', '-valid_from', '-version'],
                'permissions': [('prescribe', 'Can issue prescriptions')],
            },
        ),
        migrations.CreateModel(
            name='PrescriptionCancellation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('cancelled_at', models.DateTimeField()),
                ('reason', models.TextField()),
                ('cancelled_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('prescription', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='cancellation', to='dosing.prescription')),
            ],
        ),
        migrations.CreateModel(
            name='PrescriptionSlotDose',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slot_code', models.CharField(max_length=12)),
                ('dose_mg', models.DecimalField(decimal_places=2, max_digits=7)),
                ('prescription', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='slot_doses', to='dosing.prescription')),
            ],
            options={
                'ordering': ['prescription', 'slot_code'],
            },
        ),
        migrations.CreateModel(
            name='ReducingPlan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weekly_reduction_percent', models.DecimalField(decimal_places=2, max_digits=5)),
                ('starts_at', models.DateTimeField(help_text='When the first reduced version starts.')),
                ('switch_at', models.DateTimeField(blank=True, help_text='The prescription ends here (switch to oral treatment, closure). Empty: reduce to zero.', null=True)),
                ('state', models.CharField(choices=[('draft', 'Draft'), ('active', 'Active'), ('cancelled', 'Cancelled')], default='draft', max_length=10)),
                ('reason', models.TextField()),
                ('created_at', models.DateTimeField()),
                ('activated_at', models.DateTimeField(blank=True, null=True)),
                ('activated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reducing_plans', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['service_user', '-created_at'],
            },
        ),
        migrations.AddField(
            model_name='prescription',
            name='plan',
            field=models.ForeignKey(blank=True, help_text='The reducing plan that generated this version, if any.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='versions', to='dosing.reducingplan'),
        ),
        migrations.CreateModel(
            name='RegisterSection',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('drug', models.CharField(default='diamorphine hydrochloride', max_length=60)),
                ('strength_mg', models.DecimalField(decimal_places=2, max_digits=7)),
                ('form', models.CharField(default='ampoule', max_length=30)),
                ('supplies_doses', models.BooleanField(default=False, help_text="The section that each administration's drawn dose is supplied from.")),
                ('balance_mg', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=10)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='register_sections', to='eligibility.clinic')),
            ],
            options={
                'ordering': ['clinic', 'drug', 'strength_mg'],
            },
        ),
        migrations.CreateModel(
            name='RegisterEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sequence', models.PositiveIntegerField(help_text="The entry's place in the section, from 1.")),
                ('kind', models.CharField(choices=[('receipt', 'Receipt'), ('supply', 'Supply'), ('waste', 'Waste'), ('destruction', 'Destruction of stock'), ('stock_check', 'Stock check'), ('correction', 'Correction')], max_length=12)),
                ('occurred_at', models.DateTimeField()),
                ('quantity_in_mg', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=10)),
                ('quantity_out_mg', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=10)),
                ('balance_mg', models.DecimalField(decimal_places=2, help_text='The balance after this entry.', max_digits=10)),
                ('ampoules', models.PositiveIntegerField(blank=True, null=True)),
                ('supplier_name', models.CharField(blank=True, max_length=200)),
                ('supplier_address', models.TextField(blank=True)),
                ('batch', models.CharField(blank=True, max_length=60)),
                ('expiry', models.DateField(blank=True, null=True)),
                ('counted_mg', models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                ('waste_mg', models.DecimalField(blank=True, decimal_places=2, help_text="For waste: the amount destroyed. A dose's waste was already counted out in its supply, so it does not move the balance again.", max_digits=10, null=True)),
                ('corrected_mg', models.DecimalField(blank=True, decimal_places=2, help_text="For a correction of an amount: what the corrected entry's amount now reads (a supply's drawn amount, or a waste's amount).", max_digits=10, null=True)),
                ('note', models.TextField(blank=True)),
                ('recorded_at', models.DateTimeField()),
                ('administration', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='register_entries', to='dosing.administration')),
                ('corrects', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='corrections', to='dosing.registerentry')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('session', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='register_entries', to='dosing.dosesession')),
                ('witness', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('section', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='dosing.registersection')),
            ],
            options={
                'verbose_name_plural': 'register entries',
                'ordering': ['section', 'sequence'],
                'permissions': [('receive_stock', 'Can receive controlled drug stock'), ('witness_cd_destruction', 'Can witness the destruction of controlled drugs')],
            },
        ),
        migrations.CreateModel(
            name='Review',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reviewed_at', models.DateTimeField()),
                ('decision', models.CharField(choices=[('continue', 'Continue'), ('increase', 'Increase'), ('reduce', 'Reduce'), ('retitrate', 'Re-titrate')], max_length=12)),
                ('notes', models.TextField()),
                ('prescriber', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reviews_done', to=settings.AUTH_USER_MODEL)),
                ('prescription', models.OneToOneField(blank=True, help_text='The prescription version issued in the same step, if any.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='review', to='dosing.prescription')),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reviews', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['service_user', '-reviewed_at'],
            },
        ),
        migrations.CreateModel(
            name='ServiceClosure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('closes_on', models.DateField()),
                ('recorded_at', models.DateTimeField()),
                ('reason', models.TextField()),
                ('short_notice', models.BooleanField(help_text='Recorded less than six months before the closure date.')),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='closures', to='eligibility.clinic')),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['clinic', '-recorded_at'],
            },
        ),
        migrations.AddField(
            model_name='reducingplan',
            name='closure',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='plans', to='dosing.serviceclosure'),
        ),
        migrations.CreateModel(
            name='HistoricalReducingPlan',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('weekly_reduction_percent', models.DecimalField(decimal_places=2, max_digits=5)),
                ('starts_at', models.DateTimeField(help_text='When the first reduced version starts.')),
                ('switch_at', models.DateTimeField(blank=True, help_text='The prescription ends here (switch to oral treatment, closure). Empty: reduce to zero.', null=True)),
                ('state', models.CharField(choices=[('draft', 'Draft'), ('active', 'Active'), ('cancelled', 'Cancelled')], default='draft', max_length=10)),
                ('reason', models.TextField()),
                ('created_at', models.DateTimeField()),
                ('activated_at', models.DateTimeField(blank=True, null=True)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('activated_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('created_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='eligibility.serviceuser')),
                ('closure', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='dosing.serviceclosure')),
            ],
            options={
                'verbose_name': 'historical reducing plan',
                'verbose_name_plural': 'historical reducing plans',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='Suspension',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('hospital', 'Hospital admission'), ('custody', 'Custody')], max_length=10)),
                ('starts_on', models.DateField()),
                ('expected_end_on', models.DateField(blank=True, null=True)),
                ('reason', models.TextField()),
                ('status_before', models.CharField(help_text='The status to resume.', max_length=24)),
                ('recorded_at', models.DateTimeField()),
                ('returned_on', models.DateField(blank=True, null=True)),
                ('opioid_cover_confirmed', models.BooleanField(default=False, help_text='A prescriber confirmed opioid cover for the whole time (e.g. hospital gave methadone): no re-titration on return.')),
                ('sessions_missed', models.PositiveIntegerField(blank=True, help_text='Sessions excused during it, counted on return.', null=True)),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('ended_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('recorded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service_user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='suspensions', to='eligibility.serviceuser')),
            ],
            options={
                'ordering': ['-starts_on', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='WitnessFailure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('username', models.CharField(max_length=150)),
                ('failed_at', models.DateTimeField()),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='eligibility.clinic')),
                ('nurse', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.AddConstraint(
            model_name='assessment',
            constraint=models.UniqueConstraint(fields=('session', 'sequence'), name='assessment_sequence'),
        ),
        migrations.AddConstraint(
            model_name='assessment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decision', 'defer'), _negated=True), models.Q(('deferral_reason', ''), _negated=True), _connector='OR'), name='deferral_has_a_reason'),
        ),
        migrations.AddConstraint(
            model_name='assessment',
            constraint=models.CheckConstraint(condition=models.Q(('identity_confirmed', True)), name='assessment_identity_confirmed'),
        ),
        migrations.AddConstraint(
            model_name='assessment',
            constraint=models.CheckConstraint(condition=models.Q(('breath_mcg_per_100ml__isnull', True), ('breath_mcg_per_100ml__gte', 0), _connector='OR'), name='assessment_breath_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='amendment',
            constraint=models.CheckConstraint(condition=models.Q(('reason', ''), _negated=True), name='amendment_has_a_reason'),
        ),
        migrations.AddConstraint(
            model_name='amendment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('administration__isnull', False), ('record', 'administration')), models.Q(models.Q(('record', 'administration'), _negated=True), ('administration__isnull', True)), _connector='OR'), name='amendment_names_its_injection'),
        ),
        migrations.AddConstraint(
            model_name='amendment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('assessment__isnull', False), ('record', 'assessment')), models.Q(models.Q(('record', 'assessment'), _negated=True), ('assessment__isnull', True)), _connector='OR'), name='amendment_names_its_assessment'),
        ),
        migrations.AddIndex(
            model_name='administration',
            index=models.Index(fields=['session', '-injected_at'], name='administration_time_idx'),
        ),
        migrations.AddConstraint(
            model_name='administration',
            constraint=models.UniqueConstraint(fields=('session', 'sequence'), name='one_injection_per_sequence'),
        ),
        migrations.AddConstraint(
            model_name='administration',
            constraint=models.CheckConstraint(condition=models.Q(('sequence__in', [1, 2])), name='administration_first_or_topup'),
        ),
        migrations.AddConstraint(
            model_name='administration',
            constraint=models.CheckConstraint(condition=models.Q(('injected_mg__gt', 0)), name='injected_positive'),
        ),
        migrations.AddConstraint(
            model_name='administration',
            constraint=models.CheckConstraint(condition=models.Q(('drawn_mg__gte', models.F('injected_mg'))), name='drawn_at_least_injected'),
        ),
        migrations.AddConstraint(
            model_name='administration',
            constraint=models.CheckConstraint(condition=models.Q(('witness', models.F('nurse')), _negated=True), name='witness_is_another_person'),
        ),
        migrations.AddIndex(
            model_name='exit',
            index=models.Index(fields=['kind', 'exited_on'], name='exit_kind_date_idx'),
        ),
        migrations.AddIndex(
            model_name='dosesession',
            index=models.Index(condition=models.Q(('status__in', ('scheduled', 'assessed', 'deferred'))), fields=['closes_at'], name='session_open_by_close_idx'),
        ),
        migrations.AddIndex(
            model_name='dosesession',
            index=models.Index(condition=models.Q(('status', 'withheld')), fields=['clinic_day', 'clinic', 'outcome_reason'], name='session_withheld_idx'),
        ),
        migrations.AddIndex(
            model_name='dosesession',
            index=models.Index(fields=['clinic_day', 'clinic', 'service_user', 'status', 'slot_code'], name='session_day_idx'),
        ),
        migrations.AddIndex(
            model_name='dosesession',
            index=models.Index(condition=models.Q(('status', 'administered')), fields=['observation_due_at'], name='session_observation_due_idx'),
        ),
        migrations.AddIndex(
            model_name='dosesession',
            index=models.Index(fields=['clinic', 'clinic_day', 'slot_code'], name='session_board_idx'),
        ),
        migrations.AddIndex(
            model_name='dosesession',
            index=models.Index(fields=['service_user', 'status', 'opens_at'], name='session_person_idx'),
        ),
        migrations.AddConstraint(
            model_name='dosesession',
            constraint=models.UniqueConstraint(fields=('service_user', 'clinic_day', 'slot_code'), name='one_session_per_slot_per_day'),
        ),
        migrations.AddConstraint(
            model_name='dosesession',
            constraint=models.CheckConstraint(condition=models.Q(('closes_at__gt', models.F('opens_at'))), name='session_window_not_empty'),
        ),
        migrations.AddConstraint(
            model_name='dosesession',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['scheduled', 'assessed', 'deferred', 'administered', 'observed', 'withheld', 'declined', 'missed', 'excused'])), name='session_status_valid'),
        ),
        migrations.AddIndex(
            model_name='observation',
            index=models.Index(condition=models.Q(('outcome', 'adverse_event')), fields=['session'], name='observation_adverse_idx'),
        ),
        migrations.AddConstraint(
            model_name='observation',
            constraint=models.CheckConstraint(condition=models.Q(('naloxone_mg__isnull', True), ('naloxone_at__isnull', False), _connector='OR'), name='naloxone_has_a_time'),
        ),
        migrations.AddConstraint(
            model_name='observation',
            constraint=models.CheckConstraint(condition=models.Q(('outcome', 'adverse_event'), models.Q(('ambulance_called', False), ('naloxone_mg__isnull', True), ('over_sedation', False), ('overdose', False)), _connector='OR'), name='adverse_signs_are_an_adverse_event'),
        ),
        migrations.AddConstraint(
            model_name='pharmacy',
            constraint=models.UniqueConstraint(fields=('clinic', 'name'), name='pharmacy_name_unique_in_clinic'),
        ),
        migrations.AddIndex(
            model_name='methadoneprescription',
            index=models.Index(fields=['service_user', '-valid_from', '-version'], name='methadone_in_force_idx'),
        ),
        migrations.AddConstraint(
            model_name='methadoneprescription',
            constraint=models.UniqueConstraint(fields=('service_user', 'version'), name='methadone_version_unique'),
        ),
        migrations.AddConstraint(
            model_name='methadoneprescription',
            constraint=models.CheckConstraint(condition=models.Q(('nightly_dose_mg__gt', 0)), name='methadone_dose_positive'),
        ),
        migrations.AddConstraint(
            model_name='methadoneprescription',
            constraint=models.CheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gt', models.F('valid_from')), _connector='OR'), name='methadone_valid_to_after_valid_from'),
        ),
        migrations.AddConstraint(
            model_name='prescriptionslotdose',
            constraint=models.UniqueConstraint(fields=('prescription', 'slot_code'), name='one_dose_per_slot_per_prescription'),
        ),
        migrations.AddConstraint(
            model_name='prescriptionslotdose',
            constraint=models.CheckConstraint(condition=models.Q(('dose_mg__gt', 0)), name='slot_dose_positive'),
        ),
        migrations.AddIndex(
            model_name='prescription',
            index=models.Index(fields=['service_user', '-valid_from', '-version'], name='prescription_in_force_idx'),
        ),
        migrations.AddConstraint(
            model_name='prescription',
            constraint=models.UniqueConstraint(fields=('service_user', 'version'), name='prescription_version_unique'),
        ),
        migrations.AddConstraint(
            model_name='prescription',
            constraint=models.CheckConstraint(condition=models.Q(('valid_to__isnull', True), ('valid_to__gt', models.F('valid_from')), _connector='OR'), name='prescription_valid_to_after_valid_from'),
        ),
        migrations.AddConstraint(
            model_name='prescription',
            constraint=models.CheckConstraint(condition=models.Q(('max_daily_total_mg__gt', 0), ('max_daily_total_mg__lte', Decimal('1000'))), name='prescription_daily_total_within_1000mg'),
        ),
        migrations.AddConstraint(
            model_name='prescription',
            constraint=models.CheckConstraint(condition=models.Q(('topup_max_mg__isnull', True), ('topup_max_mg__gt', 0), _connector='OR'), name='prescription_topup_positive'),
        ),
        migrations.AddConstraint(
            model_name='prescription',
            constraint=models.CheckConstraint(condition=models.Q(('route_iv', True), ('route_im', True), _connector='OR'), name='prescription_has_a_route'),
        ),
        migrations.AddConstraint(
            model_name='registersection',
            constraint=models.UniqueConstraint(fields=('clinic', 'drug', 'strength_mg', 'form'), name='one_section_per_product'),
        ),
        migrations.AddConstraint(
            model_name='registersection',
            constraint=models.UniqueConstraint(condition=models.Q(('supplies_doses', True)), fields=('clinic',), name='one_dose_supply_section_per_clinic'),
        ),
        migrations.AddConstraint(
            model_name='registersection',
            constraint=models.CheckConstraint(condition=models.Q(('balance_mg__gte', 0)), name='register_balance_never_negative', violation_error_message='The register balance can never be negative.'),
        ),
        migrations.AddConstraint(
            model_name='registersection',
            constraint=models.CheckConstraint(condition=models.Q(('strength_mg__gt', 0)), name='strength_positive'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.UniqueConstraint(fields=('section', 'sequence'), name='register_sequence'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(('balance_mg__gte', 0)), name='register_entry_balance_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(('quantity_in_mg__gte', 0), ('quantity_out_mg__gte', 0)), name='register_quantities_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'receipt'), _negated=True), models.Q(models.Q(('supplier_name', ''), _negated=True), models.Q(('batch', ''), _negated=True), ('expiry__isnull', False)), _connector='OR'), name='receipt_has_supplier_batch_expiry'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'supply'), _negated=True), ('session__isnull', False), _connector='OR'), name='supply_linked_to_session'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ['waste', 'destruction']), _negated=True), ('witness__isnull', False), _connector='OR'), name='waste_and_destruction_witnessed'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'correction'), _negated=True), models.Q(('corrects__isnull', False), models.Q(('note', ''), _negated=True)), _connector='OR'), name='correction_refers_and_explains'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'waste'), _negated=True), ('waste_mg__gt', 0), _connector='OR'), name='waste_has_an_amount'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['receipt', 'supply', 'waste', 'destruction', 'stock_check', 'correction'])), name='register_kind_valid'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(fields=['service_user', '-reviewed_at'], name='review_latest_idx'),
        ),
        migrations.AddConstraint(
            model_name='review',
            constraint=models.CheckConstraint(condition=models.Q(('decision__in', ['continue', 'increase', 'reduce', 'retitrate'])), name='review_decision_valid'),
        ),
        migrations.AddConstraint(
            model_name='reducingplan',
            constraint=models.CheckConstraint(condition=models.Q(('weekly_reduction_percent__gt', 0), ('weekly_reduction_percent__lte', 100)), name='plan_reduction_between_0_and_100'),
        ),
        migrations.AddConstraint(
            model_name='reducingplan',
            constraint=models.CheckConstraint(condition=models.Q(('switch_at__isnull', True), ('switch_at__gt', models.F('starts_at')), _connector='OR'), name='plan_switch_after_start'),
        ),
        migrations.AddConstraint(
            model_name='suspension',
            constraint=models.UniqueConstraint(condition=models.Q(('ended_at__isnull', True)), fields=('service_user',), name='one_open_suspension_per_person'),
        ),
        migrations.AddConstraint(
            model_name='suspension',
            constraint=models.CheckConstraint(condition=models.Q(('expected_end_on__isnull', True), ('expected_end_on__gte', models.F('starts_on')), _connector='OR'), name='suspension_ends_after_it_starts'),
        ),
        migrations.AddIndex(
            model_name='witnessfailure',
            index=models.Index(fields=['username', 'clinic', 'failed_at'], name='witness_failure_idx'),
        ),
    ]
