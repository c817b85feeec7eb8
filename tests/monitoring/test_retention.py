"""The retention dashboard (issue 8.2): time in treatment, exits by kind and the
Kaplan-Meier retention curve, every number on a known history; each clinic and the
total; CSV; the API; fixed queries; the role cast."""

import csv
import datetime as dt
import io
import re

import pytest
import time_machine
from django.urls import reverse

from core.roles import Role
from dosing.leaving import service_user_exit
from eligibility.pathway import service_user_admit
from eligibility.services import staff_member_add
from tests.eligibility.pathway_setup import accepted
from tests.monitoring.dashboard_schema import answer_matching_its_schema
from tests.monitoring.scan_setup import london

RANGE = {"from": "2026-01-03", "to": "2026-06-30"}
TODAY = london(dt.date(2026, 7, 10), 12)


def episode(cast, admitted, exited=None, detail=None, kind="unplanned", clinic=None):
    """Admit a person on `admitted` and, if `exited`, record their exit that day."""
    clinic = clinic or cast.clinic_a
    witness = cast.nurse if clinic == cast.clinic_a else cast.nurse_b
    referral = accepted(cast, clinic=clinic, now=london(admitted, 9))
    service_user_admit(
        service_user=referral.service_user,
        admitted_by=cast.prescriber,
        agreement_signed_on=admitted,
        witness=witness,
        now=london(admitted, 10),
    )
    if exited:
        service_user_exit(
            service_user=referral.service_user,
            kind=kind,
            detail=detail,
            reason="Recorded for the dashboard test",
            exited_on=exited,
            recorded_by=cast.prescriber,
            now=london(exited, 16),
        )
    return referral


@pytest.fixture
def history(cast):
    """Clinic A, admitted in the range, followed to 30 June (days in treatment):
    1 ended on day 7, 14 and 28; censored on day 1, 85 (their exit on 6 July is after
    the range) and 169. One admitted before the range left in it (taper completed).
    Clinic B: admitted 2 February, excluded on day 14."""
    jan, feb, mar, apr, jun, jul = 1, 2, 3, 4, 6, 7
    day = lambda month, d: dt.date(2026, month, d)  # noqa: E731
    episode(cast, day(jan, 5), day(jan, 19), "disengaged")  # 14 days
    episode(cast, day(jan, 5), day(feb, 2), "oral_treatment", kind="planned")  # 28 days
    episode(cast, day(jan, 12))  # still in treatment: 169 days
    episode(cast, day(mar, 2), day(mar, 9), "custody")  # 7 days
    episode(cast, day(jun, 29))  # still in treatment: 1 day
    episode(cast, day(apr, 6), day(jul, 6), "disengaged")  # after the range: 85 days
    episode(cast, day(jan, 2), day(jan, 26), "taper_completed", kind="planned")
    episode(cast, day(feb, 2), day(feb, 16), "excluded", clinic=cast.clinic_b)


def numbers(cast, **params):
    with time_machine.travel(TODAY, tick=False):
        response = cast.client("manager").get(reverse("dashboard-retention"), {**RANGE, **params})
    assert response.status_code == 200
    return response


def test_every_number_on_the_retention_dashboard(cast, history):
    got = numbers(cast).context["numbers"]
    assert got["as_of"] == dt.date(2026, 6, 30)
    curve = [
        (p["week"], p["at_risk"], p["exits"], p["censored"], p["retained"]) for p in got["curve"]
    ]
    assert curve[:6] == [
        (0, 6, 0, 0, 100.0),
        (1, 5, 1, 1, 80.0),  # censored on day 1; one of five left on day 7
        (2, 4, 1, 0, 60.0),  # one of four on day 14
        (3, 3, 0, 0, 60.0),
        (4, 3, 1, 0, 40.0),  # one of three on day 28
        (5, 2, 0, 0, 40.0),
    ]
    assert curve[12] == (12, 2, 0, 0, 40.0)
    assert curve[13] == (13, 1, 0, 1, 40.0), "censored on day 85"
    assert curve[-1] == (24, 1, 0, 0, 40.0) and len(curve) == 25, "followed to day 169"
    assert got["total"] == {
        "episodes": 6,
        "in_treatment": 3,
        "ended": 3,
        "median_weeks": 4,
        "mean_days_ended": 16.3,  # (7 + 14 + 28) / 3
        "retained": {4: 40.0, 12: 40.0, 26: None, 52: None},
    }
    assert [(b["band"], b["in_treatment"], b["ended"]) for b in got["bands"]] == [
        ("0 to 4 weeks", 1, 2),
        ("4 to 12 weeks", 0, 1),
        ("12 to 26 weeks", 2, 0),
        ("26 to 52 weeks", 0, 0),
        ("52 to 104 weeks", 0, 0),
        ("104+ weeks", 0, 0),
    ]
    exits = {(row["kind"], row["detail"]): row["total"] for row in got["exits"]}
    assert exits == {
        ("planned", "taper_completed"): 1,
        ("planned", "oral_treatment"): 1,
        ("planned", "residential_rehab"): 0,
        ("unplanned", "disengaged"): 1,
        ("unplanned", "excluded"): 0,  # clinic B's
        ("unplanned", "custody"): 1,
        ("unplanned", "deceased"): 0,
        ("service_closure", "service_closure"): 0,
    }


def test_a_manager_of_two_clinics_sees_each_and_the_total(cast, history):
    staff_member_add(clinic=cast.clinic_b, user=cast.manager, roles=[Role.MANAGER])
    got = numbers(cast).context["numbers"]
    by_clinic = {
        row["name"]: (row["episodes"], row["ended"], row["median_weeks"])
        for row in got["by_clinic"]
    }
    assert by_clinic == {"Clinic A": (6, 3, 4), "Clinic B": (1, 1, 2)}
    # Together, seven at risk: one of six left on day 7 (after a censoring on day 1),
    # two of five on day 14, one of three on day 28.
    assert [p["retained"] for p in got["curve"][:5]] == [100.0, 83.3, 50.0, 50.0, 33.3]
    assert got["total"]["median_weeks"] == 2
    excluded = next(row for row in got["exits"] if row["detail"] == "excluded")
    assert (excluded["by_clinic"], excluded["total"]) == ([0, 1], 1)
    only_b = numbers(cast, clinic=cast.clinic_b.pk).context["numbers"]
    assert only_b["total"]["episodes"] == 1


def test_the_chart_gets_the_curve_and_the_page_shows_it(cast, history):
    response = numbers(cast)
    chart = response.context["chart"]
    assert chart["labels"][:3] == [0, 1, 2]
    assert chart["retained"][:5] == [100.0, 80.0, 60.0, 60.0, 40.0]
    html = response.content.decode()
    assert 'id="retention-data"' in html and "js/retention.js" in html
    assert "Median time in treatment: 4 weeks" in html


def test_each_table_exports_as_csv_with_the_filters(cast, history):
    curve = numbers(cast, export="curve")
    assert curve["Content-Disposition"].endswith('retention-by-curve-2026-01-03-2026-06-30.csv"')
    rows = list(csv.reader(io.StringIO(curve.content.decode())))
    assert rows[0] == ["weeks since admission", "at risk", "exits", "censored", "retained %"]
    assert rows[2] == ["1", "5", "1", "1", "80.0"]
    clinics = list(csv.reader(io.StringIO(numbers(cast, export="clinic").content.decode())))
    assert clinics[1][:6] == ["Clinic A", "6", "3", "3", "4", "16.3"]
    assert clinics[-1][0] == "Total"
    exits = list(csv.reader(io.StringIO(numbers(cast, export="exits").content.decode())))
    assert ["Unplanned", "Custody", "1", "1"] in exits
    bands = list(
        csv.reader(io.StringIO(numbers(cast, export="time_in_treatment").content.decode()))
    )
    assert bands[1] == ["0 to 4 weeks", "1", "2"]
    # The range narrows every table: from March, three episodes (7 days; 1 and 85
    # censored).
    narrow = numbers(cast, export="curve", **{"from": "2026-03-01"})
    assert list(csv.reader(io.StringIO(narrow.content.decode())))[1] == [
        "0",
        "3",
        "0",
        "0",
        "100.0",
    ]


EXIT_ROWS = [
    ("Planned: Taper completed", "1"),
    ("Planned: Transfer to oral treatment", "1"),
    ("Planned: Transfer to residential rehab", "0"),
    ("Unplanned: Disengaged", "1"),
    ("Unplanned: Excluded for safety", "0"),  # clinic B's
    ("Unplanned: Custody", "1"),
    ("Unplanned: Deceased", "0"),
    ("Service closure", "0"),
]


def test_exits_by_kind_label_every_row_on_the_page_and_in_the_csv(cast, history):
    html = numbers(cast).content.decode()
    table = re.search(r'data-testid="exits">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(
        r'<tr><th scope="row" class="fw-normal">([^<]*)</th>.*?'
        r'<td class="text-end fw-semibold">(\d+)</td></tr>',
        table,
    )
    assert rows == EXIT_ROWS
    exported = list(csv.reader(io.StringIO(numbers(cast, export="exits").content.decode())))
    assert exported[0] == ["kind", "detail", "Clinic A", "total"]
    assert [(kind, detail, total) for kind, detail, _, total in exported[1:]] == [
        ("Planned", "Taper completed", "1"),
        ("Planned", "Transfer to oral treatment", "1"),
        ("Planned", "Transfer to residential rehab", "0"),
        ("Unplanned", "Disengaged", "1"),
        ("Unplanned", "Excluded for safety", "0"),
        ("Unplanned", "Custody", "1"),
        ("Unplanned", "Deceased", "0"),
        ("Service closure", "Service closure", "0"),
    ]


def test_an_unknown_table_is_refused_with_what_to_choose(cast, history):
    with time_machine.travel(TODAY, tick=False):
        response = cast.client("manager").get(reverse("dashboard-retention"), {"export": "people"})
    assert response.status_code == 400
    assert "choose one of: curve, time_in_treatment, clinic, exits" in response.content.decode()


def test_the_api_gives_the_same_numbers(cast, history):
    with time_machine.travel(TODAY, tick=False):
        body = cast.client("manager").get("/api/v1/dashboard/retention/", RANGE).json()
    assert body["total"]["median_weeks"] == 4
    assert body["total"]["retained"] == {"4": 40.0, "12": 40.0, "26": None, "52": None}
    assert body["curve"][1] == {
        "week": 1,
        "at_risk": 5,
        "exits": 1,
        "censored": 1,
        "retained": 80.0,
    }


def test_the_dashboard_runs_fixed_queries(cast, history, django_assert_max_num_queries):
    client = cast.client("manager")
    with time_machine.travel(TODAY, tick=False), django_assert_max_num_queries(15):
        client.get(reverse("dashboard-retention"), RANGE)
    for n in range(20):
        episode(
            cast,
            dt.date(2026, 5, 1) + dt.timedelta(days=n),
            dt.date(2026, 6, 1) + dt.timedelta(days=n % 5),
            "disengaged",
        )
    with time_machine.travel(TODAY, tick=False), django_assert_max_num_queries(15):
        client.get(reverse("dashboard-retention"), RANGE)


def test_the_api_answer_matches_the_schema_it_publishes(cast, history):
    body = answer_matching_its_schema(cast.client("manager"), "/api/v1/dashboard/retention/", RANGE)
    assert body["curve"] and body["exits"] and body["total"]["ended"], "rows of each kind"
