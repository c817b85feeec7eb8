from celery import shared_task

from .rollups import attendance_rollup, tox_rollup
from .scans import (
    breath_missing_scan,
    free_places_offer,
    methadone_uncollected_scan,
    reviews_overdue_scan,
    tox_overdue_scan,
)
from .services import heartbeat_record


@shared_task
def heartbeat(name: str = "beat") -> None:
    heartbeat_record(name=name)


@shared_task
def scan_reviews_overdue() -> int:
    return reviews_overdue_scan()


@shared_task
def scan_tox_overdue() -> int:
    return tox_overdue_scan()


@shared_task
def scan_breath_missing() -> int:
    return breath_missing_scan()


@shared_task
def scan_methadone_uncollected() -> int:
    return methadone_uncollected_scan()


@shared_task
def offer_free_places(clinic_id: int | None = None) -> int:
    """After an exit or an acceptance, and hourly: offer free places to the waiting list."""
    return free_places_offer(clinic_ids=None if clinic_id is None else [clinic_id])


@shared_task
def roll_up_dashboards() -> dict:
    """Roll up the settled days' sessions and the newly recorded tox screens."""
    through = attendance_rollup()
    return {"attendance_through": through and through.isoformat(), "screens_added": tox_rollup()}
