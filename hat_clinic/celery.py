"""The Celery app. The beat schedule lives here, in code, so it is reviewed like code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")

app = Celery("hat_clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # A heartbeat every minute lets staff and tests see that beat and a worker
    # are both alive: the missed-dose scan depends on them.
    "heartbeat": {"task": "monitoring.tasks.heartbeat", "schedule": 60.0},
    # Today's and tomorrow's sessions, every 15 minutes: idempotent, so running
    # often costs little and a new admission or prescription is picked up soon.
    "generate-dose-sessions": {
        "task": "dosing.tasks.generate_dose_sessions",
        "schedule": 15 * 60.0,
    },
    # docs/domain.md: a window that closes with no outcome is a missed dose. The scan
    # works from the data, so a late or doubled run is harmless.
    "scan-missed-sessions": {
        "task": "dosing.tasks.scan_missed_sessions",
        "schedule": 5 * 60.0,
    },
    # A dosed session's observation not recorded within the observation time plus
    # the clinic's grace period raises an alert.
    "scan-observations-overdue": {
        "task": "dosing.tasks.scan_observations_overdue",
        "schedule": 5 * 60.0,
    },
    # Alerts are e-mailed after the commit that raises them; this sweep sends any
    # whose queued e-mail was lost with a worker.
    "email-alerts": {"task": "alerts.email_alerts", "schedule": 5 * 60.0},
    # The overdue scans read the stored records, so an hourly run catches up on
    # whatever happened since the last one; each alert is raised once per cause.
    "scan-reviews-overdue": {"task": "monitoring.tasks.scan_reviews_overdue", "schedule": 3600.0},
    "scan-tox-overdue": {"task": "monitoring.tasks.scan_tox_overdue", "schedule": 3600.0},
    # Take-home suspended by a re-titration, a loss or a missed collection visit (a
    # supply refuses at once whenever this last ran; the scan records and alerts).
    "scan-take-home-lapses": {"task": "dosing.tasks.scan_take_home_lapses", "schedule": 900.0},
    "scan-breath-missing": {"task": "monitoring.tasks.scan_breath_missing", "schedule": 3600.0},
    # Free places offered to the waiting list; also queued after each exit or acceptance.
    "offer-free-places": {"task": "monitoring.tasks.offer_free_places", "schedule": 3600.0},
    "scan-methadone-uncollected": {
        "task": "monitoring.tasks.scan_methadone_uncollected",
        "schedule": 3600.0,
    },
    # The dashboards' daily roll-ups: settled days and newly recorded tox screens.
    # Each run takes up from where the last stopped, so a missed run only delays.
    "roll-up-dashboards": {"task": "monitoring.tasks.roll_up_dashboards", "schedule": 3600.0},
    # Every register section's balance recomputed from its entries; a difference from
    # the stored figures alerts the managers, once a day per section.
    "check-register-integrity": {
        "task": "dosing.tasks.check_register_integrity",
        "schedule": 3600.0,
    },
}
