"""Every role sees the clinic's alerts; nurses, prescribers and managers acknowledge
them; managers set where each role's alerts are e-mailed."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

GRANTS = {
    Role.NURSE: ["monitoring.view_alert", "monitoring.acknowledge_alert"],
    Role.HCA: ["monitoring.view_alert"],
    Role.PRESCRIBER: ["monitoring.view_alert", "monitoring.acknowledge_alert"],
    Role.MANAGER: [
        "monitoring.view_alert",
        "monitoring.acknowledge_alert",
        "monitoring.view_alertaddress",
        "monitoring.add_alertaddress",
        "monitoring.change_alertaddress",
        "monitoring.delete_alertaddress",
    ],
}


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0002_alerts")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
