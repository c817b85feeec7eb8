"""Managers reset a member of staff's second factor (issue 16.2)."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {Role.MANAGER: ["eligibility.reset_second_factor"]}


class Migration(migrations.Migration):
    dependencies = [("eligibility", "0017_second_factor_events")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
