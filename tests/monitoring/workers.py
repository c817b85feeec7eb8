"""Real Celery worker processes for the tests, each on its own queue, pointed at the
test database. The broker is whatever the settings give: Redis when REDIS_URL is set
(the PostgreSQL tier of .ci/run), kombu's filesystem transport otherwise."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.db import connection

from hat_clinic.celery import app as celery_app
from monitoring.models import Heartbeat

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if ":memory:" in str(db["NAME"]):
            pytest.fail("The worker tests need a file or server database, not SQLite in memory")
        return f"sqlite:///{db['NAME']}"
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    pytest.fail(f"No worker test set-up for the {connection.vendor} backend")


class Worker:
    """One worker process (solo pool: one task at a time) consuming its own queue."""

    def __init__(self):
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "hat_clinic.settings",
        }
        self.process = subprocess.Popen(
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
                self.queue,
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""

    def send(self, task, **kwargs) -> None:
        """Queue a task for this worker. send_task always goes through the broker; the
        test session's in-process (eager) setting does not apply to it."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AlwaysEagerIgnored)
            celery_app.send_task(task.name, kwargs=kwargs, queue=self.queue)

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once the worker has run a heartbeat task against the database, so
        after every task queued for it before."""
        name = f"ready-{self.queue}-{uuid.uuid4().hex[:6]}"
        from monitoring.tasks import heartbeat

        self.send(heartbeat, name=name)
        wait_for(lambda: Heartbeat.objects.filter(name=name).exists(), timeout, self)

    def kill(self) -> None:
        """As the machine would: SIGKILL, no chance to clean up."""
        self.process.send_signal(signal.SIGKILL)
        self.output += self.process.communicate(timeout=20)[0]

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.output += self.process.communicate(timeout=20)[0]
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.output += self.process.communicate()[0]
        return self.output

    def results(self, task) -> list[str]:
        """What each run of the task returned, read from the worker's log."""
        return re.findall(
            rf"Task {re.escape(task.name)}\[[^\]]+\] succeeded in [^:]+: (.*)", self.output
        )


def wait_for(condition, timeout: float, worker: Worker | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if worker is not None and worker.process.poll() is not None:
            pytest.fail(f"The worker exited early:\n{worker.stop()}")
        time.sleep(0.2)
    output = worker.stop() if worker else ""
    pytest.fail(f"Timed out after {timeout} s waiting for the worker.\n{output}")


@pytest.fixture
def start_worker():
    """Start workers on demand; every one is stopped and its log printed at the end."""
    started = []

    def start() -> Worker:
        worker = Worker()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        print(f"--- worker {worker.queue} ---\n{worker.stop()}")
