"""A real Celery worker process runs a task, and its effect is seen in the database."""

import uuid

import pytest
from django.conf import settings
from django.db import connection

from monitoring.models import Heartbeat
from monitoring.tasks import heartbeat
from tests.monitoring.workers import start_worker, wait_for  # noqa: F401 (a fixture)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_and_writes_to_the_database(start_worker):  # noqa: F811
    worker = start_worker()
    name = f"worker-test-{uuid.uuid4().hex[:6]}"
    worker.send(heartbeat, name=name)
    wait_for(lambda: Heartbeat.objects.filter(name=name).exists(), 60, worker)
    assert Heartbeat.objects.get(name=name).runs == 1
    print(f"broker: {settings.CELERY_BROKER_URL.split('://')[0]}, database: {connection.vendor}")


@pytest.mark.django_db
def test_a_heartbeat_counts_every_run():
    from monitoring.services import heartbeat_record

    heartbeat_record(name="beat")
    heartbeat_record(name="beat")
    assert Heartbeat.objects.get(name="beat").runs == 2


def test_the_beat_schedule_is_in_code():
    from hat_clinic.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["monitoring.tasks.heartbeat"] == 60
    assert schedule["dosing.tasks.generate_dose_sessions"] == 15 * 60
    assert schedule["dosing.tasks.scan_missed_sessions"] == 5 * 60
    assert schedule["alerts.email_alerts"] == 5 * 60
    assert schedule["monitoring.tasks.offer_free_places"] == 3600
    assert schedule["monitoring.tasks.roll_up_dashboards"] == 3600
    for scan in ("reviews_overdue", "tox_overdue", "breath_missing", "methadone_uncollected"):
        assert schedule[f"monitoring.tasks.scan_{scan}"] == 3600
    for task in schedule:
        assert task in app.tasks, f"{task} is scheduled but not registered"
