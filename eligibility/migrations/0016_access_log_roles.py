"""Managers read the access log (issue 16.8)."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {Role.MANAGER: ["eligibility.view_accesslog"]}


class Migration(migrations.Migration):
    dependencies = [("eligibility", "0015_access_log")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
