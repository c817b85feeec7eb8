"""Dose session generation: one per person, slot and day, whatever runs it, however
often, and across the UK clock changes."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from core.roles import Role
from dosing.models import DoseSession, SessionStatus
from dosing.prescribing import prescription_issue
from dosing.sessions import dose_sessions_generate, dose_sessions_generate_ahead
from dosing.tasks import generate_dose_sessions
from eligibility.models import Status
from eligibility.services import SlotSpec, policy_issue, service_user_transition
from tests.factories import make_clinic, make_service_user, make_staff

LONDON = ZoneInfo("Europe/London")
OPENED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def prescribed(clinic, prescriber, status=Status.MAINTENANCE, at=OPENED, **fields):
    person = make_service_user(clinic, status=Status.TITRATION, by=prescriber, now=at, **fields)
    prescription_issue(
        service_user=person,
        prescriber=prescriber,
        slot_doses={"AM": "10", "PM": "10"},
        reason="Start",
        now=at,
    )
    if status != Status.TITRATION:
        path = {Status.MAINTENANCE: [Status.MAINTENANCE], Status.SUSPENDED: [Status.SUSPENDED]}
        for step in path[status]:
            service_user_transition(
                service_user=person, to_status=step, changed_by=prescriber, reason="Set-up", now=at
            )
    return person


@pytest.fixture
def clinic(db):
    return make_clinic(now=OPENED)


@pytest.fixture
def prescriber(clinic):
    return make_staff(clinic, Role.PRESCRIBER)


def sessions_of(person):
    return [
        (s.clinic_day, s.slot_code, s.opens_at.astimezone(LONDON).strftime("%H:%M"), s.status)
        for s in DoseSession.objects.filter(service_user=person).order_by("opens_at")
    ]


@pytest.mark.django_db
def test_each_person_in_treatment_gets_one_session_per_slot(clinic, prescriber):
    person = prescribed(clinic, prescriber)
    day = dt.date(2026, 2, 10)
    assert dose_sessions_generate(clinic=clinic, days=[day]) == 2
    assert sessions_of(person) == [
        (day, "AM", "08:00", "scheduled"),
        (day, "PM", "13:00", "scheduled"),
    ]


@pytest.mark.django_db
def test_running_it_again_adds_nothing(clinic, prescriber):
    prescribed(clinic, prescriber)
    days = [dt.date(2026, 2, 10), dt.date(2026, 2, 11)]
    assert dose_sessions_generate(clinic=clinic, days=days) == 4
    assert dose_sessions_generate(clinic=clinic, days=days) == 0
    assert DoseSession.objects.count() == 4


@pytest.mark.django_db
def test_suspended_people_get_excused_sessions(clinic, prescriber):
    person = prescribed(clinic, prescriber, status=Status.SUSPENDED)
    dose_sessions_generate(clinic=clinic, days=[dt.date(2026, 2, 10)])
    assert {s[3] for s in sessions_of(person)} == {SessionStatus.EXCUSED}


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Status.REFERRED, Status.WAITING, Status.EXITED])
def test_people_not_in_treatment_get_none(clinic, prescriber, status):
    make_service_user(clinic, status, now=OPENED)
    assert dose_sessions_generate(clinic=clinic, days=[dt.date(2026, 2, 10)]) == 0


@pytest.mark.django_db
def test_sessions_start_from_the_first_slot_after_the_first_prescription(clinic, prescriber):
    starts = dt.datetime(2026, 2, 10, 10, 0, tzinfo=LONDON)  # after AM opens at 08:00
    person = prescribed(clinic, prescriber, status=Status.TITRATION, at=starts)
    unprescribed = make_service_user(clinic, Status.TITRATION, now=starts)
    dose_sessions_generate(clinic=clinic, days=[dt.date(2026, 2, 10)], now=starts)
    assert [s[1] for s in sessions_of(person)] == ["PM"]
    assert sessions_of(unprescribed) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "am_utc", "pm_utc"),
    [
        (
            dt.date(2026, 3, 29),
            dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 3, 29, 12, 0, tzinfo=dt.UTC),
        ),  # clocks went forward at 01:00
        (
            dt.date(2026, 10, 25),
            dt.datetime(2026, 10, 25, 8, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 10, 25, 13, 0, tzinfo=dt.UTC),
        ),  # clocks went back at 02:00
    ],
)
def test_clock_change_days_have_exactly_their_slots_at_local_times(
    clinic, prescriber, day, am_utc, pm_utc
):
    person = prescribed(clinic, prescriber)
    days = [day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)]
    dose_sessions_generate(clinic=clinic, days=days)
    dose_sessions_generate(clinic=clinic, days=days)
    sessions = list(DoseSession.objects.filter(service_user=person).order_by("opens_at"))
    assert len(sessions) == 6
    assert all(
        s.opens_at.astimezone(LONDON).strftime("%H:%M") in ("08:00", "13:00") for s in sessions
    )
    on_the_day = [s.opens_at for s in sessions if s.clinic_day == day]
    assert on_the_day == [am_utc, pm_utc]


@pytest.mark.django_db
def test_generating_ahead_follows_the_clinics_own_day(clinic, prescriber):
    prescribed(clinic, prescriber)
    # 23:30 UTC on 30 June is 00:30 on 1 July in London: today is 1 July there.
    now = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)
    dose_sessions_generate_ahead(now=now)
    days = sorted(set(DoseSession.objects.values_list("clinic_day", flat=True)))
    assert days == [dt.date(2026, 7, 1), dt.date(2026, 7, 2)]


@pytest.mark.django_db
def test_a_policy_change_during_the_day_applies_to_later_slots(clinic, prescriber):
    person = prescribed(clinic, prescriber)
    evening = [
        SlotSpec("AM", dt.time(8), dt.time(11, 30)),
        SlotSpec("PM", dt.time(13), dt.time(17, 30)),
        SlotSpec("EVE", dt.time(19), dt.time(21)),
    ]
    policy_issue(
        clinic=clinic,
        issued_by=None,
        reason="Evening slot",
        slots=evening,
        effective_from=dt.datetime(2026, 2, 10, 15, 0, tzinfo=LONDON),
        now=OPENED,
    )
    prescription_issue(
        service_user=person,
        prescriber=prescriber,
        reason="Evening dose",
        slot_doses={"AM": "10", "PM": "10", "EVE": "10"},
        valid_from=dt.datetime(2026, 2, 10, 15, 0, tzinfo=LONDON),
        now=OPENED,
    )
    dose_sessions_generate(clinic=clinic, days=[dt.date(2026, 2, 10)])
    assert [s[1] for s in sessions_of(person)] == ["AM", "PM", "EVE"]
    # Slots that opened before the change keep the version they were scheduled under.
    am = DoseSession.objects.get(service_user=person, slot_code="AM")
    eve = DoseSession.objects.get(service_user=person, slot_code="EVE")
    assert am.policy != eve.policy


@pytest.mark.django_db
@pytest.mark.parametrize("people", [5, 50])
def test_generation_is_set_wise(clinic, prescriber, people):
    for n in range(people):
        prescribed(clinic, prescriber, family_name=f"P{n}")
    with CaptureQueriesContext(connection) as queries:
        dose_sessions_generate(clinic=clinic, days=[dt.date(2026, 2, 10)])
    assert DoseSession.objects.count() == 2 * people
    # policies, slots, then per slot: people, count, insert, count (+ savepoints)
    assert len(queries) <= 16, len(queries)


@pytest.mark.django_db
def test_the_celery_task_schedules_today_and_tomorrow(clinic, prescriber):
    prescribed(clinic, prescriber)
    result = generate_dose_sessions.apply()
    assert result.successful()
    assert result.result == DoseSession.objects.count() > 0
    assert generate_dose_sessions.apply().result == 0


def test_generation_is_in_the_beat_schedule():
    from hat_clinic.celery import app

    entry = app.conf.beat_schedule["generate-dose-sessions"]
    assert entry["task"] == generate_dose_sessions.name


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_moment_make_one_set_of_sessions():
    clinic = make_clinic(now=OPENED)
    prescriber = make_staff(clinic, Role.PRESCRIBER)
    for n in range(10):
        prescribed(clinic, prescriber, family_name=f"P{n}")
    days = [dt.date(2026, 2, 10), dt.date(2026, 2, 11)]
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            dose_sessions_generate(clinic=clinic, days=days)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert DoseSession.objects.count() == 40


@pytest.mark.django_db
def test_only_slots_the_prescription_doses_get_a_session(clinic, prescriber):
    person = make_service_user(clinic, Status.TITRATION, by=prescriber, now=OPENED)
    prescription_issue(
        service_user=person,
        prescriber=prescriber,
        slot_doses={"AM": "10"},
        reason="Once daily",
        now=OPENED,
    )
    change = dt.datetime(2026, 2, 10, 12, 0, tzinfo=LONDON)
    prescription_issue(
        service_user=person,
        prescriber=prescriber,
        slot_doses={"AM": "10", "PM": "10"},
        reason="Twice daily",
        valid_from=change,
        now=OPENED,
    )
    dose_sessions_generate(clinic=clinic, days=[dt.date(2026, 2, 9), dt.date(2026, 2, 10)])
    assert [(s[0].day, s[1]) for s in sessions_of(person)] == [(9, "AM"), (10, "AM"), (10, "PM")]


@pytest.mark.django_db
def test_an_ended_prescription_schedules_nothing(clinic, prescriber):
    person = make_service_user(clinic, Status.TITRATION, by=prescriber, now=OPENED)
    prescription_issue(
        service_user=person,
        prescriber=prescriber,
        slot_doses={"AM": "10"},
        reason="Short",
        valid_to=dt.datetime(2026, 2, 9, 12, 0, tzinfo=LONDON),
        now=OPENED,
    )
    dose_sessions_generate(clinic=clinic, days=[dt.date(2026, 2, 9), dt.date(2026, 2, 10)])
    assert [s[0].day for s in sessions_of(person)] == [9]
