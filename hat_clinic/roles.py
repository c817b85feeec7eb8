"""The staff roles. Each is a Django group; what a role may do is its permissions.

A person may hold several roles. Code asks for a permission, never a group name,
so a clinic can shape roles without code changes.
"""

from django.db.models import TextChoices


class Role(TextChoices):
    NURSE = "Nurse"
    HCA = "Health-care assistant"
    PRESCRIBER = "Prescriber"
    MANAGER = "Manager"
    # Not a person: an integration token's role, e.g. a pharmacy reporting collections.
    PHARMACY = "Pharmacy integration"


def grant_role_permissions(grants: dict[str, list[str]]):
    """A RunPython operation body that gives each role the listed "app.codename" permissions.

    Permissions are normally created after migrate; a fresh database has none
    yet, so they are created first. Each app's migrations call this for the
    permissions of the models they add.
    """

    def forwards(apps, schema_editor):
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():
            # create_permissions() skips apps without a models module, which is how
            # the migration state's app configs look; pretend otherwise, then restore.
            original = getattr(app_config, "models_module", None)
            app_config.models_module = original or True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = original

        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
        for role, names in grants.items():
            group, _ = Group.objects.get_or_create(name=role)
            for name in names:
                app_label, codename = name.split(".")
                group.permissions.add(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )

    return forwards


def staff_name(user) -> str:
    """How a member of staff is named on pages, exports and messages: their full name,
    or their username when no name is recorded (a pharmacy integration's account)."""
    return user.get_full_name() or user.get_username()
