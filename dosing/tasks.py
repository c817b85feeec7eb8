from celery import shared_task

from .sessions import dose_sessions_generate_ahead


@shared_task
def generate_dose_sessions() -> int:
    """Schedule today's and tomorrow's sessions in every clinic. Safe to run any time,
    any number of times, in several workers at once."""
    return dose_sessions_generate_ahead()
