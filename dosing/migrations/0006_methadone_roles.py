"""Prescribers prescribe methadone (the same "prescribe" permission); all roles read it."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

READ = ["dosing.view_methadoneprescription", "dosing.view_pharmacy"]

GRANTS = {
    Role.NURSE: READ,
    Role.HCA: READ,
    Role.PRESCRIBER: READ,
    Role.MANAGER: [*READ, "dosing.add_pharmacy"],
}


class Migration(migrations.Migration):
    dependencies = [("dosing", "0005_methadone")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
