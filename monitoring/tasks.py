from celery import shared_task

from .alerts import alerts_email_pending
from .services import heartbeat_record


@shared_task
def heartbeat(name: str = "beat") -> None:
    heartbeat_record(name=name)


@shared_task
def email_alerts() -> int:
    """Send whatever alerts are not yet e-mailed: queued after each commit that raises
    one, and on the beat schedule in case a queued run was lost."""
    return alerts_email_pending()
