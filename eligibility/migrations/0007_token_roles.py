"""Managers issue, see and revoke their clinic's integration tokens in the browser."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {
    Role.MANAGER: [
        "eligibility.add_integrationtoken",
        "eligibility.view_integrationtoken",
        "eligibility.change_integrationtoken",
    ]
}


class Migration(migrations.Migration):
    dependencies = [("eligibility", "0006_history_reason_text")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
