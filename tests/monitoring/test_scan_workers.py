"""The missed-dose scan in real worker processes (issue 5.2): two workers scanning at
the same moment, and a worker killed in the middle of a scan and restarted. In
.ci/run these run on PostgreSQL and Redis."""

import datetime as dt

import psycopg2
import pytest
import time_machine
from django.db import connection

from alerts.models import Alert, AlertKind
from dosing.models import DoseSession, MissedScan, SessionStatus
from dosing.tasks import scan_missed_sessions
from eligibility.models import ServiceUser
from tests.monitoring.scan_setup import london, people_on_prescription, schedule
from tests.monitoring.workers import start_worker, wait_for  # noqa: F401 (a fixture)

DAY = dt.date(2026, 2, 10)
PEOPLE = 40

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def closed_windows(cast):
    """PEOPLE service users whose AM and PM windows closed with nobody dosed. The
    workers run on the machine's real clock, long after that day."""
    with time_machine.travel(london(DAY, 7), tick=False):
        people = people_on_prescription(cast, PEOPLE)
        schedule(cast, DAY)
    return people


def missed_exactly_once():
    """Both windows missed once each, the alerts raised once each."""
    sessions = 2 * PEOPLE
    assert DoseSession.objects.filter(status=SessionStatus.MISSED).count() == sessions
    assert sum(MissedScan.objects.values_list("sessions_missed", flat=True)) == sessions
    assert Alert.objects.filter(kind=AlertKind.MISSED_DOSE).count() == sessions
    assert Alert.objects.filter(kind=AlertKind.CONSECUTIVE_MISSED).count() == PEOPLE
    assert Alert.objects.values("kind", "cause_key").distinct().count() == 3 * PEOPLE
    assert set(ServiceUser.objects.values_list("consecutive_not_taken", flat=True)) == {2}


def test_two_workers_scanning_at_the_same_moment_mark_each_session_once(
    closed_windows,
    start_worker,  # noqa: F811
):
    workers = [start_worker(), start_worker()]
    for worker in workers:
        worker.wait_ready()
    for worker in workers:
        worker.send(scan_missed_sessions)
    for worker in workers:
        # A worker runs one task at a time: its heartbeat means its scan has ended.
        worker.wait_ready()
        worker.stop()
    results = sorted(int(r) for w in workers for r in w.results(scan_missed_sessions))
    assert results == [0, 2 * PEOPLE], "one worker claimed every session, the other none"
    missed_exactly_once()


def test_a_worker_killed_mid_scan_leaves_nothing_half_done_and_a_restart_catches_up(
    closed_windows,
    start_worker,  # noqa: F811
):
    """A second connection locks one service user's row (FOR NO KEY UPDATE, so that the
    alerts' foreign keys to it still pass). The worker's scan claims the sessions,
    writes their history and alerts, then waits on that row to update the counts:
    the middle of the scan. It is killed there, with SIGKILL."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: a second connection's row lock pauses the scan mid-way")
    settings = connection.settings_dict

    def connect():
        return psycopg2.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            host=settings["HOST"] or "localhost",
            port=settings["PORT"] or 5432,
        )

    blocker = connect()
    # pg_stat_activity is a snapshot per transaction, so it is watched in autocommit.
    watcher = connect()
    watcher.autocommit = True
    try:
        with blocker.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM eligibility_serviceuser WHERE id = %s FOR NO KEY UPDATE",
                [closed_windows[0].pk],
            )
        worker = start_worker()
        worker.wait_ready()
        worker.send(scan_missed_sessions)
        wait_for(lambda: _scan_waiting_on(watcher) is not None, 60, worker)
        scan_backend = _scan_waiting_on(watcher)
        worker.kill()
    finally:
        blocker.rollback()  # release the row

    # The killed worker's transaction never reached COMMIT: PostgreSQL rolls it back.
    wait_for(lambda: not _backend_alive(watcher, scan_backend), 60)
    blocker.close()
    watcher.close()
    assert not DoseSession.objects.filter(status=SessionStatus.MISSED).exists()
    assert not Alert.objects.exists()
    assert not MissedScan.objects.exists()
    assert worker.results(scan_missed_sessions) == [], "the killed scan never finished"

    restarted = start_worker()
    restarted.send(scan_missed_sessions)  # as beat does five minutes later
    wait_for(lambda: MissedScan.objects.exists(), 60, restarted)
    missed_exactly_once()


def _scan_waiting_on(watcher):
    """The pid of a backend blocked updating the service user table, if any."""
    with watcher.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'UPDATE \"eligibility_serviceuser\"%%'"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _backend_alive(watcher, pid) -> bool:
    with watcher.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None
