"""Prescribers and managers see possible duplicate registrations (issue 16.4)."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {
    Role.PRESCRIBER: ["monitoring.view_duplicate_registration"],
    Role.MANAGER: ["monitoring.view_duplicate_registration"],
}


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0013_duplicate_registration_alert")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
