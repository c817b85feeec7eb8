"""A prescription above a limit records its written clinical reason and the limit it
answers (DOMAIN.md, "Prescribing and titration"). SQLite rebuilds the table to add a
column with a default, dropping its append-only trigger: it is protected again."""

from django.db import migrations, models

from core.append_only import protect


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0029_tolerance_from_last_dose"),
    ]

    operations = [
        migrations.AddField(
            model_name="prescription",
            name="caution",
            field=models.TextField(
                blank=True,
                default="",
                help_text="The limit the clinical reason answers, with its numbers: shown on the review page.",
            ),
        ),
        migrations.AddField(
            model_name="prescription",
            name="clinical_reason",
            field=models.TextField(
                blank=True,
                default="",
                help_text="The written clinical reason a dose above a limit needs: a re-titration restart above half the dose before the lapse, or a maintenance rise above the clinic's step.",
            ),
        ),
        migrations.RunPython(*protect(["dosing_prescription"], vendors=("sqlite",))),
    ]
