from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "Prescribing, dose sessions and the controlled drugs register"

    def ready(self):
        from eligibility import settling
        from eligibility.panels import register

        from .leaving_views import treatment_panel
        from .missed import settle_for_clinics_of, settle_service_user
        from .room_views import adverse_events_panel

        register(adverse_events_panel)
        register(treatment_panel)
        settling.register(settle_for_clinics_of, for_one=settle_service_user)
