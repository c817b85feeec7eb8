"""Prescribers make exit plans (the "prescribe" permission); managers record closures."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

READ = ["dosing.view_reducingplan", "dosing.view_serviceclosure"]

GRANTS = {
    Role.NURSE: READ,
    Role.HCA: READ,
    Role.PRESCRIBER: READ,
    Role.MANAGER: [*READ, "dosing.add_serviceclosure"],
}


class Migration(migrations.Migration):
    dependencies = [("dosing", "0007_exit_plans")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
