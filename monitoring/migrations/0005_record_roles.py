"""Nurses record tox screens, breath tests and methadone collections; HCAs record
breath tests; prescribers and managers read them; a pharmacy's integration token
reports its collections."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

READ = [
    "monitoring.view_toxscreen",
    "monitoring.view_breathtest",
    "monitoring.view_methadonecollection",
]

GRANTS = {
    Role.NURSE: [
        *READ,
        "monitoring.add_toxscreen",
        "monitoring.add_breathtest",
        "monitoring.add_methadonecollection",
    ],
    Role.HCA: [*READ, "monitoring.add_breathtest"],
    Role.PRESCRIBER: READ,
    Role.MANAGER: READ,
    Role.PHARMACY: ["monitoring.view_methadonecollection", "monitoring.add_methadonecollection"],
}


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0004_records")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
