"""The four staff roles as groups, with what each may do so far.

Later apps add their own permissions to these groups in their own migrations.
"""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

EVERY_ROLE = ["eligibility.view_clinic", "eligibility.view_serviceuser", "eligibility.add_serviceuser"]

GRANTS = {
    Role.NURSE: EVERY_ROLE,
    Role.HCA: EVERY_ROLE,
    Role.PRESCRIBER: [*EVERY_ROLE, "eligibility.change_status"],
    Role.MANAGER: [
        *EVERY_ROLE,
        "eligibility.view_audit",
        "eligibility.view_clinicpolicy",
        "eligibility.add_clinicpolicy",
        "eligibility.view_staffmembership",
        "eligibility.add_staffmembership",
    ],
}


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[role.value for role in Role]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("eligibility", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(grant_role_permissions(GRANTS), remove_roles),
    ]
