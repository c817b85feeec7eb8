"""Managers read the dashboards."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {Role.MANAGER: ["monitoring.view_dashboards"]}


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0009_dashboards")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
