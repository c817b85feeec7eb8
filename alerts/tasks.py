"""The alert e-mail task, here for Celery's autodiscovery. It is defined beside the
raising it follows (alerts.services), so raising needs no import from this module."""

from .services import email_alerts

__all__ = ["email_alerts"]
