from django.apps import AppConfig


class HatClinicConfig(AppConfig):
    """The project's wiring: settings, URLs, the timeline, navigation, commands."""

    name = "hat_clinic"
    verbose_name = "HAT clinic"
