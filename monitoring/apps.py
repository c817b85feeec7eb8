from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring, alerts and scheduled work"

    def ready(self):
        from eligibility.panels import register

        from .views import monitoring_panel

        register(monitoring_panel)
