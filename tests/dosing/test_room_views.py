"""The board and the session page: who may see and act, the refusal messages on the
page, and a fixed number of queries whatever the number of service users."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dosing.models import Administration, DoseSession, SessionStatus
from dosing.sessions import dose_sessions_generate
from tests.dosing.room_setup import DAY, NINE, SET_UP, give_dose, on_prescription
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_nine():
    with time_machine.travel(NINE, tick=False) as clock:
        yield clock


@pytest.fixture
def am(cast):
    person = on_prescription(cast, preferred_name="Sunny")
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=SET_UP)
    return DoseSession.objects.get(service_user=person, slot_code="AM")


def act(client, session, action, **form):
    """Submit one of the session page's forms, its inputs named as the page names them."""
    names = {"identity": "identity_confirmed"}
    data = {"action": action, **{f"{action}-{names.get(k, k)}": v for k, v in form.items()}}
    return client.post(reverse("dose-session", args=[session.pk]), data, follow=True)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("nurse", 200), ("hca", 200), ("prescriber", 200), ("manager", 200), (None, 302)],
)
def test_the_board_shows_the_current_slot(cast, am, who, expected):
    response = cast.client(who).get(reverse("board"))
    assert response.status_code == expected
    if expected == 200:
        page = response.content.decode()
        assert "Dosing room · Tuesday 10 Feb · AM" in page
        assert "Sunny" in page and "60.00 mg" in page
        assert "Window closes at 11:30" in page


def test_clinic_b_sees_none_of_clinic_as_sessions(cast, am):
    page = cast.client("nurse_b").get(reverse("board"), {"date": "2026-02-10", "slot": "AM"})
    assert "Sunny" not in page.content.decode()
    assert cast.client("nurse_b").get(reverse("dose-session", args=[am.pk])).status_code == 404


def test_htmx_refresh_returns_only_the_rows(cast, am):
    response = cast.client("nurse").get(reverse("board"), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "<html" not in page and "Sunny" in page


@pytest.mark.parametrize("size", [15, 150])
def test_the_board_runs_the_same_queries_for_15_and_150(cast, size):
    people = [
        on_prescription(cast, family_name=f"P{n:03d}", flags=["alcohol"] if n % 3 else [])
        for n in range(size)
    ]
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=SET_UP)
    for person in people[::3][:2]:  # doses on the board: their corrections are read too
        give_dose(cast, DoseSession.objects.get(service_user=person, slot_code="AM"), NINE)
    client = cast.client("nurse")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("board"))
    assert len(response.context["sessions"]) == size
    # The sessions, their assessments, injections and the injections' corrections are
    # four queries whatever the number; one finds no closed window to settle; the rest
    # is the page's frame.
    assert len(queries) == 17, [q["sql"][:70] for q in queries]


def test_a_full_session_through_the_page(cast, am, at_nine):
    nurse = cast.client("nurse")
    page = act(nurse, am, action="assess", identity="on", poss="1").content.decode()
    assert "Assessment recorded: go on to the injection." in page
    page = act(
        nurse,
        am,
        action="administer",
        drawn_mg="60",
        injected_mg="55",
        route="iv",
        site="arm",
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
    ).content.decode()
    assert "Injection recorded. Observation has started." in page
    assert "waste 5 mg" in page
    assert 'data-testid="observation-timer"' in page
    page = act(nurse, am, action="observe", outcome="no_concerns").content.decode()
    assert "Observation lasts at least 20 minutes" in page
    at_nine.shift(dt.timedelta(minutes=20))
    page = act(cast.client("hca"), am, action="observe", outcome="no_concerns")
    assert "the session is complete" in page.content.decode()
    am.refresh_from_db()
    assert am.status == SessionStatus.OBSERVED


def test_poss_3_shows_the_withhold_on_the_page(cast, am):
    page = act(cast.client("nurse"), am, action="assess", identity="on", poss="3")
    text = page.content.decode()
    assert "POSS 3: too sedated to dose" in text
    assert "Withheld" in text


def test_a_second_submission_shows_already_recorded(cast, am):
    nurse = cast.client("nurse")
    act(nurse, am, action="assess", identity="on", poss="1")
    form = {
        "drawn_mg": "60",
        "injected_mg": "60",
        "route": "iv",
        "site": "arm",
        "witness_username": cast.hca.username,
        "witness_password": PASSWORD,
    }
    act(nurse, am, "administer", **form)
    page = act(cast.client("nurse"), am, "administer", **form).content.decode()
    assert "This dose is already recorded." in page
    assert Administration.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "action", "expected"),
    [
        ("hca", "assess", 403),
        ("hca", "administer", 403),
        ("prescriber", "assess", 403),
        ("manager", "withhold", 403),
        ("hca", "nonsense", 403),
    ],
)
def test_roles_that_may_not_act_are_refused(cast, am, who, action, expected):
    response = cast.client(who).post(
        reverse("dose-session", args=[am.pk]),
        {"action": action, "identity": "on", "poss": "1", "reason": "clinical"},
    )
    assert response.status_code == expected
    am.refresh_from_db()
    assert am.status == SessionStatus.SCHEDULED


def test_a_refusal_shows_its_rule_and_numbers(cast, am):
    nurse = cast.client("nurse")
    act(nurse, am, action="assess", identity="on", poss="1")
    page = act(
        nurse,
        am,
        action="administer",
        drawn_mg="70",
        injected_mg="70",
        route="iv",
        site="arm",
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
    )
    assert "70 mg is above the prescribed AM dose of 60 mg." in page.content.decode()
