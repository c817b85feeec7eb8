"""The missed-dose scan (issue 5.2): it works from the data, so running it twice,
late, at the same moment in two places, or across the UK clock changes neither
loses nor doubles a missed session or an alert."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertKind
from dosing.assessment import session_assess
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, MissedScan, SessionStatus
from dosing.room import session_decline, session_withhold
from dosing.tasks import scan_missed_sessions
from eligibility.models import ServiceUser, Status
from tests.dosing.room_setup import dosed_at_nine, give_dose, on_prescription
from tests.monitoring.scan_setup import london, people_on_prescription, schedule, session_of

DAY = dt.date(2026, 2, 10)  # a Tuesday, GMT
NEXT = DAY + dt.timedelta(days=1)


def alerts(kind=None):
    found = Alert.objects.all()
    return found.filter(kind=kind) if kind else found


@pytest.fixture
def two_people(cast):
    people = people_on_prescription(cast, 2)
    schedule(cast, DAY, NEXT)
    return people


def test_a_session_still_open_when_its_window_closes_is_missed_with_an_alert(cast, two_people):
    first, second = two_people
    session_withhold(
        session=session_of(first, DAY, "AM"),
        nurse=cast.nurse,
        reason="clinical",
        now=london(DAY, 9),
    )
    assert missed_sessions_scan(now=london(DAY, 11, 29)) is None

    scan = missed_sessions_scan(now=london(DAY, 11, 30))

    assert scan.sessions_missed == 1
    missed = session_of(second, DAY, "AM")
    assert (missed.status, missed.missed_scan) == (SessionStatus.MISSED, scan)
    assert session_of(first, DAY, "AM").status == SessionStatus.WITHHELD
    assert session_of(second, DAY, "PM").status == SessionStatus.SCHEDULED
    alert = alerts(AlertKind.MISSED_DOSE).get()
    assert (alert.service_user, alert.session, alert.clinic) == (second, missed, cast.clinic_a)
    assert (
        alert.detail == "AM session on 2026-02-10 missed: the window closed with no dose recorded."
    )
    assert alert.is_open
    second.refresh_from_db()
    assert second.consecutive_not_taken == 1
    # Who changed the session, and why, is in its history.
    latest = missed.history.first()
    assert (latest.status, latest.history_user, latest.history_change_reason) == (
        "missed",
        None,
        "Window closed with no dose recorded: missed",
    )


def test_an_assessed_session_with_no_dose_is_missed_too(cast):
    person = on_prescription(cast)
    session = session_of(person, DAY, "AM")
    session_assess(
        session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=london(DAY, 9)
    )
    missed_sessions_scan(now=london(DAY, 12))
    session.refresh_from_db()
    assert session.status == SessionStatus.MISSED


def test_a_given_dose_is_never_marked_missed(cast):
    person = on_prescription(cast)
    dosed_at_nine(cast, person)
    assert missed_sessions_scan(now=london(DAY, 12)) is None
    assert not alerts().exists()


def test_running_the_scan_twice_in_a_row_changes_nothing(cast, two_people):
    missed_sessions_scan(now=london(DAY, 11, 30))
    before = list(ServiceUser.objects.values_list("pk", "consecutive_not_taken", "status"))

    assert missed_sessions_scan(now=london(DAY, 11, 30)) is None
    assert missed_sessions_scan(now=london(DAY, 11, 35)) is None

    assert alerts().count() == 2
    assert MissedScan.objects.count() == 1
    assert list(ServiceUser.objects.values_list("pk", "consecutive_not_taken", "status")) == before


def test_an_acknowledged_alert_is_not_raised_again(cast, two_people):
    from alerts.services import alert_acknowledge

    missed_sessions_scan(now=london(DAY, 11, 30))
    for alert in alerts():
        alert_acknowledge(alert=alert, by=cast.nurse, note="Phoned", now=london(DAY, 11, 40))
    missed_sessions_scan(now=london(DAY, 11, 45))
    assert alerts().count() == 2


def test_two_consecutive_warn_and_the_threshold_needs_retitration(cast, two_people):
    person, other = two_people
    give_dose(cast, session_of(other, DAY, "AM"), london(DAY, 9))
    missed_sessions_scan(now=london(DAY, 11, 30))
    assert not alerts(AlertKind.CONSECUTIVE_MISSED).exists()

    missed_sessions_scan(now=london(DAY, 17, 30))
    person.refresh_from_db()
    assert (person.consecutive_not_taken, person.status) == (2, Status.MAINTENANCE)
    warning = alerts(AlertKind.CONSECUTIVE_MISSED).get()
    assert (warning.service_user, warning.session) == (person, session_of(person, DAY, "AM"))
    assert warning.detail == "2 consecutive sessions not taken: contact the service user."

    missed_sessions_scan(now=london(NEXT, 11, 30))
    person.refresh_from_db()
    assert (person.consecutive_not_taken, person.status) == (3, Status.RETITRATION_REQUIRED)
    change = person.status_changes.latest("changed_at")
    assert (change.from_status, change.to_status, change.changed_by) == (
        Status.MAINTENANCE,
        Status.RETITRATION_REQUIRED,
        None,
    )
    assert "threshold" in change.reason
    warnings = alerts(AlertKind.CONSECUTIVE_MISSED)
    assert warnings.filter(service_user=person).count() == 1, "one warning per streak"
    assert warnings.filter(service_user=other).count() == 1  # PM and next AM
    retitration = alerts(AlertKind.RETITRATION_REQUIRED).get()
    assert retitration.service_user == person
    assert retitration.detail.startswith("3 consecutive sessions not taken: re-titration")
    # The other person took the AM dose and missed only the PM and the next AM.
    other.refresh_from_db()
    assert (other.consecutive_not_taken, other.status) == (2, Status.MAINTENANCE)


def test_withheld_and_declined_count_with_missed(cast, two_people):
    person, _ = two_people
    session_withhold(
        session=session_of(person, DAY, "AM"),
        nurse=cast.nurse,
        reason="clinical",
        now=london(DAY, 9),
    )
    missed_sessions_scan(now=london(DAY, 17, 30))  # PM missed
    session_decline(session=session_of(person, NEXT, "AM"), nurse=cast.nurse, now=london(NEXT, 9))
    person.refresh_from_db()
    assert (person.consecutive_not_taken, person.status) == (3, Status.RETITRATION_REQUIRED)
    assert alerts(AlertKind.RETITRATION_REQUIRED).filter(service_user=person).count() == 1
    assert alerts(AlertKind.CONSECUTIVE_MISSED).filter(service_user=person).count() == 1


def test_a_late_scan_counts_from_the_data_not_from_the_order_it_runs(cast):
    """The AM window closed unseen; the PM dose was given; the scan runs after both.
    The person's streak ended with the PM dose, so the count stays 0."""
    person = on_prescription(cast)
    give_dose(cast, session_of(person, DAY, "PM"), london(DAY, 14))
    missed_sessions_scan(now=london(DAY, 18))

    person.refresh_from_db()
    assert session_of(person, DAY, "AM").status == SessionStatus.MISSED
    assert person.consecutive_not_taken == 0
    assert alerts(AlertKind.MISSED_DOSE).count() == 1


def test_beat_stopped_for_two_hours_then_one_scan_catches_up(cast, two_people):
    """Scans every 5 minutes through the morning, then nothing from 11:00 to 13:00
    (the AM window closes at 11:30 unseen), then every 5 minutes again."""
    times = [london(DAY, 8) + dt.timedelta(minutes=5 * i) for i in range(12 * 12)]
    outage = (london(DAY, 11), london(DAY, 13))
    for when in times:
        if outage[0] <= when < outage[1]:
            continue
        with time_machine.travel(when, tick=False):
            scan_missed_sessions.delay()  # the real task, run in-process
    catch_up = MissedScan.objects.order_by("ran_at").first()
    assert catch_up.ran_at == london(DAY, 13)
    assert catch_up.sessions_missed == 2
    assert DoseSession.objects.filter(status=SessionStatus.MISSED).count() == 4  # AM and PM
    assert alerts(AlertKind.MISSED_DOSE).count() == 4
    assert alerts(AlertKind.CONSECUTIVE_MISSED).count() == 2
    assert set(ServiceUser.objects.values_list("consecutive_not_taken", flat=True)) == {2}


@pytest.mark.parametrize(
    "day",
    [dt.date(2026, 3, 29), dt.date(2026, 10, 25)],
    ids=["clocks-go-forward", "clocks-go-back"],
)
def test_the_uk_clock_changes_neither_lose_nor_double_a_missed_session(cast, day):
    """A scan every 5 minutes of real time through the whole day of a clock change:
    each window is missed once, exactly when it closes in local time."""
    people = people_on_prescription(cast, 2)
    schedule(cast, day)
    start = london(day, 0).astimezone(dt.UTC)
    end = london(day + dt.timedelta(days=1), 0).astimezone(dt.UTC)
    hours = (end - start) / dt.timedelta(hours=1)
    assert hours == (23 if day.month == 3 else 25)
    when = start
    while when < end:
        with time_machine.travel(when, tick=False):
            scan_missed_sessions.delay()
        when += dt.timedelta(minutes=5)

    scans = list(MissedScan.objects.order_by("ran_at"))
    assert [scan.ran_at for scan in scans] == [london(day, 11, 30), london(day, 17, 30)]
    assert [scan.sessions_missed for scan in scans] == [2, 2]
    assert alerts(AlertKind.MISSED_DOSE).count() == 4
    for person in people:
        person.refresh_from_db()
        assert person.consecutive_not_taken == 2


def _queries_to_scan(cast, n, clinic, prescriber, *, misses_before: int) -> int:
    """Queries for one scan that finds n people's windows closed, each person having
    missed misses_before sessions already."""
    people = people_on_prescription(cast, n, clinic=clinic, prescriber=prescriber)
    schedule(cast, DAY, NEXT, clinic=clinic)
    windows = [london(DAY, 11, 30), london(DAY, 17, 30), london(NEXT, 11, 30)]
    for when in windows[:misses_before]:
        missed_sessions_scan(now=when)
    with CaptureQueriesContext(connection) as captured:
        scan = missed_sessions_scan(now=windows[misses_before])
    assert scan.sessions_missed == n
    if misses_before == 2:
        assert (
            ServiceUser.objects.filter(
                pk__in=[p.pk for p in people], status=Status.RETITRATION_REQUIRED
            ).count()
            == n
        )
    return len(captured)


@pytest.mark.parametrize("misses_before", [0, 1, 2], ids=["first", "warning", "threshold"])
def test_the_scan_runs_the_same_queries_for_5_and_for_50_people(cast, misses_before):
    from core.roles import Role
    from tests.factories import make_staff

    prescriber_b = make_staff(cast.clinic_b, Role.PRESCRIBER)
    small = _queries_to_scan(cast, 5, cast.clinic_a, cast.prescriber, misses_before=misses_before)
    large = _queries_to_scan(cast, 50, cast.clinic_b, prescriber_b, misses_before=misses_before)
    assert small == large, "the scan must not query per session or per person"
    print(f"missed-dose scan after {misses_before} misses: {small} queries for 5 and for 50")


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_the_same_moment_claim_each_session_once(cast):
    """Two threads, each with its own database connection, scan at once."""
    people = people_on_prescription(cast, 20)
    schedule(cast, DAY)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scan():
        try:
            barrier.wait()
            found = missed_sessions_scan(now=london(DAY, 11, 30))
            results.append(found.sessions_missed if found else 0)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(results) == [0, len(people)]
    assert alerts(AlertKind.MISSED_DOSE).count() == len(people)
    assert DoseSession.objects.filter(status=SessionStatus.MISSED).count() == len(people)
    assert set(ServiceUser.objects.values_list("consecutive_not_taken", flat=True)) == {1}
