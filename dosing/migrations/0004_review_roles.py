"""Prescribers record weekly reviews; every role may read them."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {
    Role.NURSE: ["dosing.view_review"],
    Role.HCA: ["dosing.view_review"],
    Role.PRESCRIBER: ["dosing.view_review", "dosing.add_review"],
    Role.MANAGER: ["dosing.view_review"],
}


class Migration(migrations.Migration):
    dependencies = [("dosing", "0003_review")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
