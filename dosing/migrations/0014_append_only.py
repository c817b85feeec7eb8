"""Clinical records that are only ever added to refuse UPDATE (and DELETE on PostgreSQL)."""

from django.db import migrations

from core.append_only import protect

TABLES = [
    "dosing_administration",
    "dosing_assessment",
    "dosing_observation",
    "dosing_amendment",
    "dosing_prescription",
    "dosing_prescriptionslotdose",
    "dosing_prescriptioncancellation",
    "dosing_methadoneprescription",
    "dosing_review",
    "dosing_serviceclosure",
    "dosing_historicalreducingplan",
    "eligibility_statuschange",
    "eligibility_historicalserviceuser",
    "eligibility_historicalclinic",
    "eligibility_historicalstaffmembership",
]


class Migration(migrations.Migration):
    dependencies = [("dosing", "0013_amendment_roles"), ("eligibility", "0002_roles")]

    operations = [migrations.RunPython(*protect(TABLES))]
