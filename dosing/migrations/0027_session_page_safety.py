"""Issue 14, the dosing room made as safe as its services: a deferred session and its
reassessments (several assessments per session), "left before the observation
ended", the observation's due time for the overdue scan, witnessed corrections of an
injection, and the register's waste and corrected amounts as numbers.

Rows written before this keep their meaning: a dose's waste entry gets its amount
from its injection, an assessment that withheld is marked so, and a session dosed in
the last day gets its observation due time. SQLite rebuilds a table to add a constraint,
which drops its append-only trigger, so the rebuilt tables are protected again."""

import datetime as dt

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

from core.append_only import protect, rewrite_once

WASTE_AMOUNTS = """
    UPDATE dosing_registerentry SET waste_mg = COALESCE(
        (SELECT a.drawn_mg - a.injected_mg FROM dosing_administration a
         WHERE a.id = dosing_registerentry.administration_id),
        quantity_out_mg)
    WHERE kind = 'waste'
"""
WITHHOLDING_ASSESSMENTS = """
    UPDATE dosing_assessment SET decision = 'withhold'
    WHERE session_id IN (SELECT id FROM dosing_dosesession
                         WHERE status = 'withheld' AND outcome_reason IN ('sedation', 'alcohol'))
"""
REBUILT = [
    "dosing_assessment",
    "dosing_registerentry",
    "dosing_observation",
    "dosing_amendment",
    "dosing_historicaldosesession",
]


def observation_due(apps, schema_editor):
    """Only a session dosed in the last day gets its due time: the overdue scan would
    otherwise raise an urgent alert for every old session left without an observation,
    long after anyone could check on the service user."""
    DoseSession = apps.get_model("dosing", "DoseSession")
    recent = timezone.now() - dt.timedelta(days=1)
    for session in DoseSession.objects.filter(status="administered").select_related("policy"):
        last = session.administrations.order_by("-injected_at").first()
        if last is not None and last.injected_at >= recent:
            minutes = session.policy.observation_minutes + session.policy.observation_grace_minutes
            DoseSession.objects.filter(pk=session.pk).update(
                observation_due_at=last.injected_at + dt.timedelta(minutes=minutes)
            )


class Migration(migrations.Migration):

    dependencies = [
        ('dosing', '0026_session_day_index'),
        ('eligibility', '0009_clinicpolicy_observation_grace_minutes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='assessment',
            options={'ordering': ['session', 'sequence'], 'permissions': [('assess', 'Can record a pre-dose assessment')]},
        ),
        migrations.RemoveConstraint(
            model_name='dosesession',
            name='session_status_valid',
        ),
        migrations.RemoveIndex(
            model_name='dosesession',
            name='session_open_by_close_idx',
        ),
        migrations.AddField(
            model_name='amendment',
            name='witness',
            field=models.ForeignKey(blank=True, help_text='A correction of an injection is witnessed like the injection itself.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='assessment',
            name='decision',
            field=models.CharField(choices=[('proceed', 'Go on to the dose'), ('withhold', 'Withhold the dose'), ('defer', 'Defer: reassess later in this window')], default='proceed', max_length=8),
        ),
        migrations.AddField(
            model_name='assessment',
            name='deferral_reason',
            field=models.CharField(blank=True, help_text='For a deferral: the withhold reason that applies if the window closes before a reassessment.', max_length=12),
        ),
        migrations.AddField(
            model_name='assessment',
            name='sequence',
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='dosesession',
            name='observation_due_at',
            field=models.DateTimeField(blank=True, help_text="When an administered session's observation is overdue: the last injection, plus the observation time, plus the clinic's grace period.", null=True),
        ),
        migrations.AddField(
            model_name='historicaldosesession',
            name='observation_due_at',
            field=models.DateTimeField(blank=True, help_text="When an administered session's observation is overdue: the last injection, plus the observation time, plus the clinic's grace period.", null=True),
        ),
        migrations.AddField(
            model_name='registerentry',
            name='corrected_mg',
            field=models.DecimalField(blank=True, decimal_places=2, help_text="For a correction of an amount: what the corrected entry's amount now reads (a supply's drawn amount, or a waste's amount).", max_digits=10, null=True),
        ),
        migrations.AddField(
            model_name='registerentry',
            name='waste_mg',
            field=models.DecimalField(blank=True, decimal_places=2, help_text="For waste: the amount destroyed. A dose's waste was already counted out in its supply, so it does not move the balance again.", max_digits=10, null=True),
        ),
        migrations.AlterField(
            model_name='assessment',
            name='session',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='assessments', to='dosing.dosesession'),
        ),
        migrations.AlterField(
            model_name='dosesession',
            name='missed_scan',
            field=models.ForeignKey(blank=True, help_text='The scan that settled the session when its window closed: missed, or withheld if it was still deferred.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='dosing.missedscan'),
        ),
        migrations.AlterField(
            model_name='dosesession',
            name='status',
            field=models.CharField(choices=[('scheduled', 'Scheduled'), ('assessed', 'Assessed'), ('deferred', 'Deferred'), ('administered', 'Administered'), ('observed', 'Complete'), ('withheld', 'Withheld'), ('declined', 'Declined'), ('missed', 'Missed'), ('excused', 'Excused')], default='scheduled', max_length=12),
        ),
        migrations.AlterField(
            model_name='historicaldosesession',
            name='missed_scan',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='The scan that settled the session when its window closed: missed, or withheld if it was still deferred.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='dosing.missedscan'),
        ),
        migrations.AlterField(
            model_name='historicaldosesession',
            name='status',
            field=models.CharField(choices=[('scheduled', 'Scheduled'), ('assessed', 'Assessed'), ('deferred', 'Deferred'), ('administered', 'Administered'), ('observed', 'Complete'), ('withheld', 'Withheld'), ('declined', 'Declined'), ('missed', 'Missed'), ('excused', 'Excused')], default='scheduled', max_length=12),
        ),
        migrations.AlterField(
            model_name='observation',
            name='outcome',
            field=models.CharField(choices=[('no_concerns', 'No concerns'), ('left_early', 'Left before the observation ended'), ('adverse_event', 'Adverse event')], max_length=14),
        ),
        migrations.AddIndex(
            model_name='dosesession',
            index=models.Index(condition=models.Q(('status__in', ('scheduled', 'assessed', 'deferred'))), fields=['closes_at'], name='session_open_by_close_idx'),
        ),
        migrations.AddIndex(
            model_name='dosesession',
            index=models.Index(condition=models.Q(('status', 'administered')), fields=['observation_due_at'], name='session_observation_due_idx'),
        ),
        migrations.RunPython(rewrite_once("dosing_registerentry", WASTE_AMOUNTS), migrations.RunPython.noop),
        migrations.RunPython(rewrite_once("dosing_assessment", WITHHOLDING_ASSESSMENTS), migrations.RunPython.noop),
        migrations.RunPython(observation_due, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='assessment',
            constraint=models.UniqueConstraint(fields=('session', 'sequence'), name='assessment_sequence'),
        ),
        migrations.AddConstraint(
            model_name='assessment',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decision', 'defer'), _negated=True), models.Q(('deferral_reason', ''), _negated=True), _connector='OR'), name='deferral_has_a_reason'),
        ),
        migrations.AddConstraint(
            model_name='dosesession',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['scheduled', 'assessed', 'deferred', 'administered', 'observed', 'withheld', 'declined', 'missed', 'excused'])), name='session_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='registerentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'waste'), _negated=True), ('waste_mg__gt', 0), _connector='OR'), name='waste_has_an_amount'),
        ),
        migrations.RunPython(*protect(REBUILT, vendors=("sqlite",))),
    ]
