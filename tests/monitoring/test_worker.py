"""A real Celery worker process runs a task, and its effect is seen in the database.

Runs on whatever broker the settings give: Redis when REDIS_URL is set (the
PostgreSQL tier of .ci/run), kombu's filesystem transport otherwise.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from hat_clinic.celery import app as celery_app
from monitoring.models import Heartbeat
from monitoring.tasks import heartbeat

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.fail(f"No worker test set-up for the {connection.vendor} backend")


@pytest.fixture
def worker_queue():
    """A worker process on its own queue, pointed at the test database."""
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.fail("The worker test needs a file or server database, not SQLite in memory")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "hat_clinic.settings",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "hat_clinic",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield queue
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_and_writes_to_the_database(worker_queue):
    name = f"worker-test-{uuid.uuid4().hex[:6]}"
    celery_app.send_task(heartbeat.name, kwargs={"name": name}, queue=worker_queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Heartbeat.objects.filter(name=name).exists():
            break
        time.sleep(0.25)
    beat = Heartbeat.objects.get(name=name)
    assert beat.runs == 1
    print(f"broker: {settings.CELERY_BROKER_URL.split('://')[0]}, database: {connection.vendor}")


@pytest.mark.django_db
def test_a_heartbeat_counts_every_run():
    from monitoring.services import heartbeat_record

    heartbeat_record(name="beat")
    heartbeat_record(name="beat")
    assert Heartbeat.objects.get(name="beat").runs == 2


def test_the_beat_schedule_is_in_code():
    from hat_clinic.celery import app

    assert app.conf.beat_schedule["heartbeat"]["task"] == "monitoring.tasks.heartbeat"
    assert heartbeat.name in app.tasks
