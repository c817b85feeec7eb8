from celery import shared_task

from .services import heartbeat_record


@shared_task
def heartbeat(name: str = "beat") -> None:
    heartbeat_record(name=name)
