"""The history tables' reason column became text (0020 and eligibility 0006). SQLite
alters a column by rebuilding the table, which drops its append-only trigger: put
it back. PostgreSQL alters in place and keeps its triggers."""

from django.db import migrations

from core.append_only import protect

ALTERED = [
    "dosing_historicalreducingplan",
    "dosing_historicaldosesession",
    "eligibility_historicalclinic",
    "eligibility_historicalserviceuser",
    "eligibility_historicalstaffmembership",
]


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0020_history_reason_text"),
        ("eligibility", "0006_history_reason_text"),
    ]

    operations = [migrations.RunPython(*protect(ALTERED, vendors=("sqlite",)))]
