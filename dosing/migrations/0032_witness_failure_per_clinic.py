"""Witness failures count per witness and clinic (issue 16.4).

The failures kept so far name no clinic. They are only a lockout's counter within a
30-minute cool-off, so they are cleared rather than guessed at: at worst a witness
locked out at the moment of the upgrade may try again.
"""

import django.db.models.deletion
from django.db import migrations, models


def clear_failures(apps, schema_editor):
    apps.get_model("dosing", "WitnessFailure").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0031_transfer_evidence"),
        ("eligibility", "0011_lapse_and_prescribing_limits"),
    ]

    operations = [
        migrations.RunPython(clear_failures, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="witnessfailure", name="witness_failure_idx"),
        migrations.AddField(
            model_name="witnessfailure",
            name="clinic",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="eligibility.clinic",
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="witnessfailure",
            index=models.Index(
                fields=["username", "clinic", "failed_at"], name="witness_failure_idx"
            ),
        ),
    ]
