"""The attendance dashboard (issue 8.1, a first part of the dashboards): every number
on a small known history, the chart's data, CSV, the API, fixed queries, the role
cast."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role
from dosing.leaving import suspension_start
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession
from dosing.room import session_decline, session_withhold
from eligibility.services import staff_member_add
from tests.dosing.room_setup import give_dose
from tests.monitoring.dashboard_schema import answer_matching_its_schema
from tests.monitoring.scan_setup import london, people_on_prescription, schedule, session_of

MON, TUE = dt.date(2026, 2, 9), dt.date(2026, 2, 10)
RANGE = {"from": "2026-02-09", "to": "2026-02-10"}


@pytest.fixture
def history(cast):
    """Two people, two days, two slots: 8 sessions with every outcome.
    P1: Mon AM administered, Mon PM withheld, Tue AM declined, Tue PM missed.
    P2: Mon AM and PM administered, Tue AM and PM excused (in hospital)."""
    first, second = people_on_prescription(cast, 2)
    schedule(cast, MON, TUE)
    give_dose(cast, session_of(first, MON, "AM"), london(MON, 9))
    session_withhold(
        session=session_of(first, MON, "PM"),
        nurse=cast.nurse,
        reason="clinical",
        now=london(MON, 14),
    )
    give_dose(cast, session_of(second, MON, "AM"), london(MON, 9))
    give_dose(cast, session_of(second, MON, "PM"), london(MON, 14))
    suspension_start(
        service_user=second,
        kind="hospital",
        starts_on=TUE,
        reason="Chest infection",
        recorded_by=cast.nurse,
        now=london(TUE, 7),
    )
    session_decline(session=session_of(first, TUE, "AM"), nurse=cast.nurse, now=london(TUE, 9))
    missed_sessions_scan(now=london(TUE, 18))
    assert DoseSession.objects.count() == 8
    return first, second


def numbers(cast, who="manager", **params):
    return cast.client(who).get(reverse("dashboard-attendance"), {**RANGE, **params})


def test_every_number_on_the_attendance_dashboard(cast, history):
    first, second = history
    context = numbers(cast, period="day").context["numbers"]
    totals = {
        k: context["totals"][k]
        for k in ["scheduled", "administered", "withheld", "declined", "missed", "excused", "open"]
    }
    assert totals == {
        "scheduled": 8,
        "administered": 3,
        "withheld": 1,
        "declined": 1,
        "missed": 1,
        "excused": 2,
        "open": 0,
    }
    assert context["totals"]["adherence"] == 50.0
    by_day = [
        (
            r["period"],
            r["scheduled"],
            r["administered"],
            r["withheld"],
            r["declined"],
            r["missed"],
            r["excused"],
            r["adherence"],
        )
        for r in context["by_period"]
    ]
    assert by_day == [(MON, 4, 3, 1, 0, 0, 0, 75.0), (TUE, 4, 0, 0, 1, 1, 2, 0.0)]
    by_slot = [
        (r["slot_code"], r["scheduled"], r["administered"], r["adherence"])
        for r in context["by_slot"]
    ]
    assert by_slot == [("AM", 4, 2, 66.7), ("PM", 4, 1, 33.3)]
    by_person = {
        r["service_user"]: (r["scheduled"], r["administered"], r["excused"], r["adherence"])
        for r in context["by_service_user"]
    }
    assert by_person == {first.pk: (4, 1, 0, 25.0), second.pk: (4, 2, 2, 100.0)}


def test_by_week_and_by_month(cast, history):
    week = numbers(cast, period="week").context["numbers"]["by_period"]
    assert [(r["period"], r["scheduled"], r["adherence"]) for r in week] == [(MON, 8, 50.0)]
    month = numbers(cast, period="month").context["numbers"]["by_period"]
    assert [(r["period"], r["scheduled"]) for r in month] == [(dt.date(2026, 2, 1), 8)]


def test_the_chart_gets_the_same_numbers_as_the_table(cast, history):
    response = numbers(cast, period="day")
    chart = response.context["chart"]
    assert chart["labels"] == ["2026-02-09", "2026-02-10"]
    assert chart["series"]["administered"] == [3, 0]
    assert chart["series"]["excused"] == [0, 2]
    html = response.content.decode()
    assert 'id="attendance-data"' in html and "vendor/chartjs-4.6.1/chart.umd.min.js" in html


def test_each_table_exports_as_csv_with_the_filters(cast, history):
    response = numbers(cast, period="day", export="slot")
    assert response["Content-Disposition"].endswith('attendance-by-slot-2026-02-09-2026-02-10.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "slot",
        "scheduled",
        "administered",
        "withheld",
        "declined",
        "missed",
        "excused",
        "open",
        "adherence %",
    ]
    assert rows[1] == ["AM", "4", "2", "0", "1", "0", "1", "0", "66.7"]
    one_day = numbers(cast, period="day", export="period", **{"from": "2026-02-10"})
    assert len(list(csv.reader(io.StringIO(one_day.content.decode())))) == 2


def test_the_api_gives_the_same_numbers(cast, history):
    body = (
        cast.client("manager")
        .get("/api/v1/dashboard/attendance/", {**RANGE, "period": "day"})
        .json()
    )
    assert body["totals"]["administered"] == 3
    assert [r["period"] for r in body["by_period"]] == ["2026-02-09", "2026-02-10"]
    bad = cast.client("manager").get("/api/v1/dashboard/attendance/", {"from": "2026-13-01"})
    assert (bad.status_code, bad.json()["code"]) == (400, "date_invalid")
    other = cast.client("manager").get(
        "/api/v1/dashboard/attendance/", {"clinic": cast.clinic_b.pk}
    )
    assert other.status_code == 404


def test_the_dashboard_runs_the_same_queries_for_a_short_and_a_long_history(cast):
    def queries(days):
        client = cast.client("manager")
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("dashboard-attendance"), {"from": "2026-02-01", "to": "2026-02-28"})
        return len(captured)

    people_on_prescription(cast, 3)
    schedule(cast, MON)
    small = queries(1)
    people_on_prescription(cast, 12)
    schedule(cast, *[dt.date(2026, 2, d) for d in range(1, 29)])
    assert queries(28) == small


def test_a_region_lists_the_lowest_adherence_first_and_the_csv_has_everyone(db):
    """150 places: the page lists 100, lowest adherence first; the CSV has all."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from tests.factories import StaffClient, enrol_authenticator

    call_command(
        "synthetic_history", people=150, days=7, end=dt.date(2026, 3, 1), seed=2, stdout=None
    )
    manager = get_user_model().objects.get(username="synthetic-manager")
    enrol_authenticator(manager)
    client = StaffClient()
    client.force_login(manager)
    params = {"from": "2026-02-23", "to": "2026-03-01"}
    response = client.get(reverse("dashboard-attendance"), params)
    shown = response.context["people_shown"]
    everyone = response.context["numbers"]["by_service_user"]
    assert len(everyone) > 140 and len(shown) == 100  # a few places stood empty
    assert [r["adherence"] for r in shown] == sorted(r["adherence"] for r in shown)
    assert shown[0]["adherence"] == min(r["adherence"] for r in everyone)
    assert f"of {len(everyone)} service users; the CSV has everyone" in response.content.decode()
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    reverse("dashboard-attendance"), {**params, "export": "service_user"}
                ).content.decode()
            )
        )
    )
    assert len(rows) == len(everyone) + 1


def test_a_manager_of_two_clinics_sees_each_and_the_total(cast, history):

    (other,) = people_on_prescription(cast, 1, clinic=cast.clinic_b)
    schedule(cast, MON, clinic=cast.clinic_b)
    session_decline(session=session_of(other, MON, "AM"), nurse=cast.nurse_b, now=london(MON, 9))
    assert numbers(cast).context["numbers"]["totals"]["scheduled"] == 8, "B is not theirs"
    staff_member_add(clinic=cast.clinic_b, user=cast.manager, roles=[Role.MANAGER])
    response = numbers(cast)
    got = response.context["numbers"]
    by_clinic = {
        r["clinic__name"]: (r["scheduled"], r["administered"], r["adherence"])
        for r in got["by_clinic"]
    }
    assert by_clinic == {"Clinic A": (8, 3, 50.0), "Clinic B": (2, 0, 0.0)}  # B's PM open
    assert (got["totals"]["scheduled"], got["totals"]["administered"]) == (10, 3)
    assert 'data-testid="by-clinic"' in response.content.decode()
    rows = list(csv.reader(io.StringIO(numbers(cast, export="clinic").content.decode())))
    assert rows[1][:3] == ["Clinic A", "8", "3"] and rows[-1][:3] == ["Total", "10", "3"]
    only_b = numbers(cast, clinic=cast.clinic_b.pk).context["numbers"]["totals"]
    assert only_b["scheduled"] == 2


def test_the_api_answer_matches_the_schema_it_publishes(cast, history):
    body = answer_matching_its_schema(
        cast.client("manager"), "/api/v1/dashboard/attendance/", {**RANGE, "period": "day"}
    )
    assert body["by_service_user"] and body["by_clinic"], "rows of each kind were checked"
