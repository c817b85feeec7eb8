"""The workload and safety dashboard (issue 8.4): occupancy against capacity and the
waiting list, overdue reviews and tox screens, open alerts by kind, re-titrations by
cause, withholds by reason, adverse events and naloxone. Every number on a known
history made through the services; each clinic and the total; CSV; the API; fixed
queries; the role cast."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from alerts.models import Alert, AlertKind
from alerts.services import alert_acknowledge
from core.roles import Role
from dosing.leaving import suspension_end, suspension_start
from dosing.missed import missed_sessions_scan
from dosing.reviews import review_record
from dosing.room import session_observe, session_withhold
from eligibility.models import Status
from eligibility.services import policy_issue, staff_member_add
from monitoring.records import tox_screen_record
from monitoring.scans import free_places_offer, reviews_overdue_scan, tox_overdue_scan
from tests.conftest import CLINICS_OPENED
from tests.dosing.room_setup import give_dose
from tests.eligibility.pathway_setup import accepted
from tests.factories import make_service_user
from tests.monitoring.dashboard_schema import answer_matching_its_schema
from tests.monitoring.scan_setup import SET_UP, london, people_on_prescription, schedule, session_of

MON, TUE = dt.date(2026, 2, 9), dt.date(2026, 2, 10)
NOW = london(dt.date(2026, 2, 20), 12)
RANGE = {"from": "2026-02-01", "to": "2026-02-28"}


def screen(cast, person, day):
    tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=day,
        results={"papaverine": "negative"},
        now=london(day, 12),
    )


@pytest.fixture
def history(cast):
    """Clinic A, capacity 7. In treatment since 10 January: A, B, C, E (sessions for
    A, B and E on 9 and 10 February), D since 17 February, S suspended. Two accepted
    and waiting (W1 since 5 February, priority 1, offered the free place; W2).
    A: an overdose on Monday morning (naloxone 0.4 mg, ambulance), withheld Monday
    evening (sedation), a dose on Tuesday morning, withheld Tuesday evening (alcohol).
    E misses all four sessions: re-titration by the scan. B is in hospital Monday and
    Tuesday (4 sessions): re-titration on return. C: re-titration at a review.
    Tox screens: A on 18 February, B on 10 February. Clinic B: one person, since
    10 January."""
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=CLINICS_OPENED + dt.timedelta(minutes=1),
        reason="Seven places",
        capacity=7,
        now=CLINICS_OPENED + dt.timedelta(minutes=1),
    )
    a, b, e = people_on_prescription(cast, 3)
    c = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=SET_UP)
    make_service_user(cast.clinic_a, Status.SUSPENDED, by=cast.prescriber, now=SET_UP)
    make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=london(dt.date(2026, 2, 17), 9)
    )
    make_service_user(cast.clinic_b, Status.MAINTENANCE, now=SET_UP)
    schedule(cast, MON, TUE)

    dosed = give_dose(cast, session_of(a, MON, "AM"), london(MON, 9))
    session_observe(
        session=dosed,
        observer=cast.nurse,
        outcome="adverse_event",
        details="Respiratory depression two minutes after injection",
        overdose=True,
        naloxone_mg="0.4",
        naloxone_at=london(MON, 9, 5),
        ambulance_called=True,
        now=london(MON, 9, 45),
    )
    session_withhold(
        session=session_of(a, MON, "PM"), nurse=cast.nurse, reason="sedation", now=london(MON, 14)
    )
    dosed = give_dose(cast, session_of(a, TUE, "AM"), london(TUE, 9))
    session_observe(
        session=dosed, observer=cast.nurse, outcome="no_concerns", now=london(TUE, 9, 45)
    )
    session_withhold(
        session=session_of(a, TUE, "PM"), nurse=cast.nurse, reason="alcohol", now=london(TUE, 14)
    )
    stay = suspension_start(
        service_user=b,
        kind="hospital",
        starts_on=MON,
        reason="Cellulitis",
        recorded_by=cast.nurse,
        now=london(MON, 7),
    )
    missed_sessions_scan(now=london(TUE, 18))
    suspension_end(
        suspension=stay,
        returned_on=dt.date(2026, 2, 11),
        ended_by=cast.nurse,
        now=london(dt.date(2026, 2, 11), 9),
    )
    review_record(
        service_user=c,
        prescriber=cast.prescriber,
        decision="retitrate",
        notes="Using on top; re-titrate from a lower dose.",
        now=london(dt.date(2026, 2, 16), 11),
    )
    screen(cast, a, dt.date(2026, 2, 18))
    screen(cast, b, dt.date(2026, 2, 10))

    first = accepted(cast, now=london(dt.date(2026, 2, 5), 10), priority=1)
    accepted(cast, now=london(dt.date(2026, 2, 12), 10), priority=2)
    free_places_offer(clinic_ids=[cast.clinic_a.pk], now=london(dt.date(2026, 2, 18), 9))
    first.refresh_from_db()
    assert first.offered_at is not None
    reviews_overdue_scan(now=NOW)
    tox_overdue_scan(now=NOW)
    alert_acknowledge(
        alert=Alert.objects.filter(kind=AlertKind.TOX_OVERDUE, clinic=cast.clinic_a).first(),
        by=cast.nurse,
        note="Sample booked for Monday",
        now=NOW,
    )
    return a, b, c, e


def numbers(cast, **params):
    with time_machine.travel(NOW, tick=False):
        response = cast.client("manager").get(reverse("dashboard-workload"), {**RANGE, **params})
    assert response.status_code == 200
    return response


def test_every_number_on_the_workload_dashboard(cast, history):
    got = numbers(cast).context["numbers"]
    [clinic] = got["by_clinic"]
    assert {k: v for k, v in clinic.items() if k not in ("clinic", "name")} == {
        "capacity": 7,
        "taken": 6,  # A, B, C, D, E and S (suspended, keeping the place)
        "suspended": 1,
        "offered": 1,
        "free": 0,
        "occupancy": 85.7,
        "waiting": 2,
        "longest_wait_days": 15,  # accepted 5 February
        "reviews_overdue": 3,  # A, B, E: never reviewed since 10 January
        "tox_overdue": 3,  # B (last on 10 February), C and E (none)
        "adverse_events": 1,
        "over_sedation": 0,
        "overdoses": 1,
        "naloxone_given": 1,
        "naloxone_mg": Decimal("0.4"),
        "ambulances": 1,
    }
    alerts = {row["code"]: row["total"] for row in got["alerts"] if row["total"]}
    assert alerts == {
        "missed_dose": 4,  # E's four sessions
        "consecutive_missed": 1,  # E
        "retitration_required": 2,  # E by the scan, B on return
        "review_overdue": 3,
        "tox_overdue": 2,  # three raised, one acknowledged
        "place_offered": 1,
        "adverse_event": 1,  # A's overdose, raised when it was recorded
    }
    assert {row["code"]: row["total"] for row in got["retitrations"]} == {
        "missed": 1,
        "suspension": 1,
        "review": 1,
    }
    assert {row["code"]: row["total"] for row in got["withholds"]} == {
        "sedation": 1,
        "alcohol": 1,
        "intoxicated": 0,
        "clinical": 0,
        "behaviour": 0,
        "other": 0,
    }


def test_the_range_limits_what_happened_but_not_what_stands_now(cast, history):
    got = numbers(cast, **{"from": "2026-02-11", "to": "2026-02-28"}).context["numbers"]
    assert {row["code"]: row["total"] for row in got["retitrations"]} == {
        "missed": 0,
        "suspension": 1,
        "review": 1,
    }
    assert sum(row["total"] for row in got["withholds"]) == 0
    assert got["total"]["adverse_events"] == 0 and got["total"]["naloxone_mg"] == 0
    assert (got["total"]["taken"], got["total"]["reviews_overdue"]) == (6, 3)


def test_a_manager_of_two_clinics_sees_each_and_the_total(cast, history):
    staff_member_add(clinic=cast.clinic_b, user=cast.manager, roles=[Role.MANAGER])
    got = numbers(cast).context["numbers"]
    rows = {
        row["name"]: (row["capacity"], row["taken"], row["occupancy"], row["reviews_overdue"])
        for row in got["by_clinic"]
    }
    assert rows == {"Clinic A": (7, 6, 85.7, 3), "Clinic B": (15, 1, 6.7, 1)}
    total = got["total"]
    assert (total["capacity"], total["taken"], total["occupancy"]) == (22, 7, 31.8)
    assert (total["reviews_overdue"], total["tox_overdue"], total["waiting"]) == (4, 4, 2)
    review_alerts = next(row for row in got["alerts"] if row["code"] == "review_overdue")
    assert (review_alerts["by_clinic"], review_alerts["total"]) == ([3, 1], 4)


def test_the_chart_and_the_tables_on_the_page(cast, history):
    response = numbers(cast)
    assert response.context["chart"] == {
        "labels": ["Clinic A"],
        "series": {"taken": [6], "offered": [1], "free": [0]},
    }
    html = response.content.decode()
    assert 'id="workload-data"' in html and "js/workload.js" in html
    for heading in ["Open alerts by kind, now", "Re-titrations by cause", "Withholds by reason"]:
        assert heading in html


def test_each_table_exports_as_csv(cast, history):
    places = list(csv.reader(io.StringIO(numbers(cast, export="clinic").content.decode())))
    assert places[0][:4] == ["clinic", "capacity", "taken", "suspended"]
    assert places[1][:11] == ["Clinic A", "7", "6", "1", "1", "0", "85.7", "2", "15", "3", "3"]
    assert places[-1][0] == "Total"
    withholds = numbers(cast, export="withholds")
    assert withholds["Content-Disposition"].endswith(
        'workload-by-withholds-2026-02-01-2026-02-28.csv"'
    )
    rows = list(csv.reader(io.StringIO(withholds.content.decode())))
    assert rows[0] == ["withhold reason", "Clinic A", "total"]
    assert rows[1] == ["Sedated (POSS 3 or 4)", "1", "1"]
    alerts = list(csv.reader(io.StringIO(numbers(cast, export="alerts").content.decode())))
    assert ["Missed dose", "4", "4"] in alerts
    causes = list(csv.reader(io.StringIO(numbers(cast, export="retitrations").content.decode())))
    assert ["Back from a suspension", "1", "1"] in causes


def test_the_api_gives_the_same_numbers(cast, history):
    with time_machine.travel(NOW, tick=False):
        body = cast.client("manager").get("/api/v1/dashboard/workload/", RANGE).json()
    assert body["total"]["occupancy"] == 85.7
    assert body["by_clinic"][0]["naloxone_mg"] == 0.4
    assert [row["total"] for row in body["retitrations"]] == [1, 1, 1]


def test_the_dashboard_runs_fixed_queries(cast, history, django_assert_max_num_queries):
    client = cast.client("manager")
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(27):
        client.get(reverse("dashboard-workload"), RANGE)
    people_on_prescription(cast, 10)
    for _ in range(5):
        accepted(cast, now=london(dt.date(2026, 2, 13), 10))
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(27):
        client.get(reverse("dashboard-workload"), RANGE)


def test_a_corrected_observation_counts_as_it_now_reads(cast, history):
    from dosing.amendments import session_amend

    a = history[0]
    session_amend(
        session=session_of(a, TUE, "AM"),
        amended_by=cast.nurse,
        record="observation",
        changes={"outcome": "adverse_event", "over_sedation": True, "details": "Drowsy, roused"},
        reason="Recorded as no concerns by mistake",
        now=london(TUE, 12),
    )
    after_one = numbers(cast).context["numbers"]["total"]
    assert (after_one["adverse_events"], after_one["over_sedation"]) == (2, 1)
    session_amend(
        session=session_of(a, MON, "AM"),
        amended_by=cast.nurse,
        record="observation",
        changes={
            "outcome": "no_concerns",
            "overdose": False,
            "naloxone_mg": "",
            "naloxone_at": "",
            "ambulance_called": False,
        },
        reason="Entered against the wrong service user",
        now=london(TUE, 12),
    )
    total = numbers(cast).context["numbers"]["total"]
    assert {k: total[k] for k in ("adverse_events", "over_sedation", "overdoses")} == {
        "adverse_events": 1,
        "over_sedation": 1,
        "overdoses": 0,
    }
    assert (total["naloxone_given"], total["naloxone_mg"], total["ambulances"]) == (0, 0, 0)


def test_the_api_answer_matches_the_schema_it_publishes(cast, history):
    body = answer_matching_its_schema(cast.client("manager"), "/api/v1/dashboard/workload/", RANGE)
    assert body["by_clinic"] and body["total"]["naloxone_mg"], "rows of each kind were checked"
