from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class HatClinicConfig(AppConfig):
    name = "hat_clinic"
    verbose_name = "HAT clinic"

    def ready(self):
        # post_migrate is sent once per app with models, after every migration has run;
        # the project has no models, so it listens for the last such app, once.
        last = [config for config in apps.get_app_configs() if config.models_module][-1]
        post_migrate.connect(_append_only_install, sender=last, dispatch_uid="hat-append-only")


def _append_only_install(sender, using, apps=None, **kwargs):
    """After every migrate: the append-only triggers, on every listed table."""
    from django.db import connections

    from .append_only import install

    install(connections[using], apps)
