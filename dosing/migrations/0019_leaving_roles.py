"""Nurses and prescribers record a suspension and the return from it; prescribers
record an exit; everyone reads them."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

READ = ["dosing.view_suspension", "dosing.view_exit"]

GRANTS = {
    Role.NURSE: [*READ, "dosing.add_suspension", "dosing.change_suspension"],
    Role.HCA: READ,
    Role.PRESCRIBER: [*READ, "dosing.add_suspension", "dosing.change_suspension", "dosing.add_exit"],
    Role.MANAGER: READ,
}


class Migration(migrations.Migration):
    dependencies = [("dosing", "0018_suspensions_and_exits")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
