"""Nurses correct dose session records by amendment; the other roles read them."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {
    Role.NURSE: ["dosing.amend", "dosing.view_amendment"],
    Role.HCA: ["dosing.view_amendment"],
    Role.PRESCRIBER: ["dosing.view_amendment"],
    Role.MANAGER: ["dosing.view_amendment"],
}


class Migration(migrations.Migration):
    dependencies = [("dosing", "0012_amendment")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
