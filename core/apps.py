from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    """The base every app builds on: refusals, audit, roles, the append-only registry.

    It installs the two registries after every ``migrate``, so no migration carries
    them: the append-only triggers (``core.append_only``) and each role's permissions
    (``core.roles``).
    """

    name = "core"
    verbose_name = "HAT clinic core"

    def ready(self):
        # post_migrate is sent once per app with models, after every migration has run;
        # core has no models, so it listens for the last such app, once.
        last = [config for config in apps.get_app_configs() if config.models_module][-1]
        post_migrate.connect(_append_only_install, sender=last, dispatch_uid="hat-append-only")
        # Every app's permissions exist by then: auth creates them as each app migrates.
        post_migrate.connect(_roles_sync, sender=last, dispatch_uid="hat-roles")


def _append_only_install(sender, using, apps=None, **kwargs):
    """After every migrate: the append-only triggers, on every listed table."""
    from django.db import connections

    from .append_only import install

    install(connections[using], apps)


def _roles_sync(sender, using, apps=None, **kwargs):
    """After every migrate: each role's group holds exactly ROLE_PERMISSIONS' list."""
    from .roles import sync_role_permissions

    sync_role_permissions(apps)
