"""The outcomes dashboard (issue 8.3): the share of tox screens positive for the
street heroin markers and for each other substance, by month, on a known history."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.roles import Role
from eligibility.models import Status
from eligibility.services import staff_member_add
from monitoring.records import tox_screen_record
from tests.factories import make_service_user
from tests.monitoring.dashboard_schema import answer_matching_its_schema

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)
RANGE = {"from": "2026-01-01", "to": "2026-03-31"}


def screen(cast, person, day, **results):
    tox_screen_record(
        service_user=person, recorded_by=cast.nurse, sample_date=day, results=results, now=NOW
    )


@pytest.fixture
def history(cast):
    """January: 2 screens, 1 street heroin positive, cocaine 1 of 2. February: 1 screen,
    markers negative, cocaine not tested. March: 1 screen that tested only fentanyl."""
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber)
    other = make_service_user(cast.clinic_b, Status.MAINTENANCE)  # another clinic's
    screen(cast, person, dt.date(2026, 1, 5), papaverine="positive", cocaine="positive")
    screen(
        cast,
        person,
        dt.date(2026, 1, 12),
        papaverine="negative",
        noscapine="negative",
        cocaine="negative",
    )
    screen(cast, person, dt.date(2026, 2, 3), acetylcodeine="negative", benzodiazepines="positive")
    screen(cast, person, dt.date(2026, 3, 9), fentanyl="negative")
    screen(cast, other, dt.date(2026, 1, 5), papaverine="positive")
    return person


def cells(response):
    numbers = response.context["numbers"]
    return {
        (row["month"].strftime("%Y-%m"), cell["substance"]): (
            cell["positive"],
            cell["tested"],
            cell["percent"],
        )
        for row in numbers["rows"]
        for cell in row["cells"]
    }


def test_every_number_on_the_outcomes_dashboard(cast, history):
    got = cells(
        cast.client("manager").get(
            reverse("dashboard-outcomes"), {**RANGE, "clinic": cast.clinic_a.pk}
        )
    )
    assert got[("2026-01", "street_heroin")] == (1, 2, 50.0)
    assert got[("2026-01", "cocaine")] == (1, 2, 50.0)
    assert got[("2026-02", "street_heroin")] == (0, 1, 0.0)
    assert got[("2026-02", "cocaine")] == (0, 0, None)
    assert got[("2026-02", "benzodiazepines")] == (1, 1, 100.0)
    assert got[("2026-03", "street_heroin")] == (0, 0, None), "markers not tested that month"
    assert got[("2026-03", "fentanyl")] == (0, 1, 0.0)
    assert {month for month, _ in got} == {"2026-01", "2026-02", "2026-03"}


def test_all_clinics_together_for_a_manager_of_one(cast, history):
    got = cells(cast.client("manager").get(reverse("dashboard-outcomes"), RANGE))
    assert got[("2026-01", "street_heroin")] == (1, 2, 50.0), "clinic B is not the manager's"


def test_the_csv_and_the_api_carry_the_same_numbers(cast, history):
    client = cast.client("manager")
    response = client.get(reverse("dashboard-outcomes"), {**RANGE, "export": "month"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["month", "substance", "positive", "tested", "positive %"]
    assert ["2026-01", "Street heroin markers", "1", "2", "50.0"] in rows
    body = client.get("/api/v1/dashboard/outcomes/", RANGE).json()
    january = body["rows"][0]
    assert january["month"] == "2026-01"
    assert january["cells"][0] == {
        "positive": 1,
        "tested": 2,
        "percent": 50.0,
        "substance": "street_heroin",
    }


def test_the_outcomes_dashboard_runs_fixed_queries(cast, history):
    client = cast.client("manager")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            client.get(reverse("dashboard-outcomes"), RANGE)
        return len(captured)

    small = queries()
    for n in range(30):
        screen(cast, history, dt.date(2026, 1, 1) + dt.timedelta(days=n * 2), cocaine="positive")
    assert queries() == small


def test_a_manager_of_two_clinics_sees_each_and_the_total(cast, history):

    staff_member_add(clinic=cast.clinic_b, user=cast.manager, roles=[Role.MANAGER])
    response = cast.client("manager").get(reverse("dashboard-outcomes"), RANGE)
    by_clinic = {
        r["name"]: (r["positive"], r["tested"], r["percent"])
        for r in response.context["numbers"]["by_clinic"]
    }
    assert by_clinic == {"Clinic A": (1, 3, 33.3), "Clinic B": (1, 1, 100.0)}
    assert cells(response)[("2026-01", "street_heroin")] == (2, 3, 66.7), "the total"
    rows = list(
        csv.reader(
            io.StringIO(
                cast.client("manager")
                .get(reverse("dashboard-outcomes"), {**RANGE, "export": "clinic"})
                .content.decode()
            )
        )
    )
    assert rows == [
        ["clinic", "street heroin positive", "tested", "positive %"],
        ["Clinic A", "1", "3", "33.3"],
        ["Clinic B", "1", "1", "100.0"],
    ]


def test_the_api_answer_matches_the_schema_it_publishes(cast, history):
    body = answer_matching_its_schema(cast.client("manager"), "/api/v1/dashboard/outcomes/", RANGE)
    assert body["rows"][0]["cells"] and body["by_clinic"], "rows of each kind were checked"
