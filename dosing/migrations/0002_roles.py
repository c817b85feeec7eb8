"""Prescribers issue prescriptions; every role may read them."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

READ = ["dosing.view_prescription"]

GRANTS = {
    Role.NURSE: READ,
    Role.HCA: READ,
    Role.PRESCRIBER: [*READ, "dosing.prescribe"],
    Role.MANAGER: READ,
}


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0001_initial"),
        ("eligibility", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
