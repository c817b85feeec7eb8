"""Nurses assess, administer and witness; HCAs witness and observe."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {
    Role.NURSE: ["dosing.assess", "dosing.administer", "dosing.witness_dose", "dosing.observe",
                 "dosing.view_dosesession"],
    Role.HCA: ["dosing.witness_dose", "dosing.observe", "dosing.view_dosesession"],
    Role.PRESCRIBER: ["dosing.view_dosesession"],
    Role.MANAGER: ["dosing.view_dosesession"],
}


class Migration(migrations.Migration):
    dependencies = [("dosing", "0010_dosing_room")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
