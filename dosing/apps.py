from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "Prescribing, dose sessions and the controlled drugs register"

    def ready(self):
        from eligibility.panels import register

        from .leaving_views import treatment_panel
        from .room_views import adverse_events_panel

        register(adverse_events_panel)
        register(treatment_panel)
