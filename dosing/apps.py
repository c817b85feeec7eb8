from django.apps import AppConfig


class DosingConfig(AppConfig):
    name = "dosing"
    verbose_name = "Prescribing, dose sessions and the controlled drugs register"
