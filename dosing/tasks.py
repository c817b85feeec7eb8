from celery import shared_task

from .missed import missed_sessions_scan, observations_overdue_scan
from .register_checks import register_integrity_scan
from .sessions import dose_sessions_generate_ahead
from .take_home_lapses import take_home_lapses_scan


@shared_task
def generate_dose_sessions() -> int:
    """Schedule today's and tomorrow's sessions in every clinic. Safe to run any time,
    any number of times, in several workers at once."""
    return dose_sessions_generate_ahead()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def scan_missed_sessions() -> int:
    """Mark missed every session whose window closed with no outcome, and raise the
    alerts. Catches up every closed window however long since the last run; a run
    killed half-way leaves nothing done, and is redelivered."""
    scan = missed_sessions_scan()
    return scan.sessions_missed if scan else 0


@shared_task
def scan_observations_overdue() -> int:
    """Alert on every dosed session whose observation is overdue. Catches up however
    late it runs; raising is idempotent, so a second run changes nothing."""
    return observations_overdue_scan()


@shared_task
def check_register_integrity() -> int:
    """Recompute every register section's balance from its entries and alert on any
    difference from what is stored: one query; one alert per section and day."""
    return register_integrity_scan()


@shared_task
def scan_take_home_lapses() -> int:
    """Suspend take-home where a re-titration, a loss or a missed collection visit has
    happened since the prescription, and alert the prescriber: once per version and
    cause, however late or often it runs."""
    return take_home_lapses_scan()
