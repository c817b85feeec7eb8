"""dose-sessions/ and its actions against the cast, refusing exactly what the service refuses."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.roles import Role
from dosing.models import Administration, DoseSession
from dosing.sessions import dose_sessions_generate
from tests.dosing.room_setup import DAY, NINE, SET_UP, on_prescription
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_nine():
    with time_machine.travel(NINE, tick=False) as clock:
        yield clock


@pytest.fixture
def am(cast):
    person = on_prescription(cast, topup_max_mg="10")
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=SET_UP)
    return DoseSession.objects.get(service_user=person, slot_code="AM")


def post(client, session, name, body):
    return client.post(
        f"/api/v1/dose-sessions/{session.pk}/{name}/", body, content_type="application/json"
    )


ASSESS = {"identity_confirmed": True, "poss": "1"}


def administer_body(cast, **changes):
    body = {
        "drawn_mg": "60",
        "injected_mg": "60",
        "route": "iv",
        "site": "arm",
        "witness_username": cast.hca.username,
        "witness_password": PASSWORD,
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("nurse", 200),
        ("hca", 403),
        ("prescriber", 403),
        ("manager", 403),
        ("nurse_b", 404),
        (None, 403),
    ],
)
def test_only_a_nurse_assesses(cast, am, who, expected):
    assert post(cast.client(who), am, "assess", ASSESS).status_code == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("nurse", 200),
        ("hca", 403),
        ("prescriber", 403),
        ("manager", 403),
        ("nurse_b", 404),
        (None, 403),
    ],
)
def test_only_a_nurse_administers(cast, am, who, expected):
    post(cast.client("nurse"), am, "assess", ASSESS)
    response = post(cast.client(who), am, "administer", administer_body(cast))
    assert response.status_code == expected
    assert Administration.objects.count() == (1 if expected == 200 else 0)
    if expected == 200:
        body = response.json()
        assert body["status"] == "administered"
        assert body["administrations"][0]["injected_mg"] == "60.00"
        assert body["administrations"][0]["witness"] == cast.hca.pk


def test_a_second_submission_is_a_409(cast, am):
    client = cast.client("nurse")
    post(client, am, "assess", ASSESS)
    assert post(client, am, "administer", administer_body(cast)).status_code == 200
    second = post(client, am, "administer", administer_body(cast))
    assert second.status_code == 409
    assert second.json()["code"] == "already_recorded"
    assert Administration.objects.count() == 1


@pytest.mark.parametrize(
    ("action", "body", "code"),
    [
        ("assess", {"identity_confirmed": False, "poss": "1"}, "identity_not_confirmed"),
        ("assess", {"identity_confirmed": True, "poss": "2"}, "caution_reason_required"),
    ],
)
def test_assessment_refusals_match_the_service(cast, am, action, body, code):
    response = post(cast.client("nurse"), am, action, body)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_poss_3_withholds_through_the_api(cast, am):
    response = post(cast.client("nurse"), am, "assess", {"identity_confirmed": True, "poss": "3"})
    assert response.status_code == 200
    assert response.json()["status"] == "withheld"
    assert "POSS 3" in response.json()["outcome_note"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"injected_mg": "60.01", "drawn_mg": "61"}, "dose_above_prescription"),
        ({"witness_password": "wrong"}, "witness_not_confirmed"),
        ({"site": "leg"}, "risk_discussion_required"),
        ({"site": "deltoid"}, "site_not_for_route"),
    ],
)
def test_administration_refusals_match_the_service(cast, am, changes, code):
    client = cast.client("nurse")
    post(client, am, "assess", ASSESS)
    response = post(client, am, "administer", administer_body(cast, **changes))
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not Administration.objects.exists()


def test_top_up_and_observation_by_an_hca(cast, am, at_nine):
    nurse = cast.client("nurse")
    post(nurse, am, "assess", ASSESS)
    post(nurse, am, "administer", administer_body(cast))
    early = post(
        nurse, am, "administer", administer_body(cast, injected_mg="10", drawn_mg="10", topup=True)
    )
    assert early.json()["code"] == "topup_too_soon"
    at_nine.shift(dt.timedelta(minutes=20))
    topped = post(
        nurse, am, "administer", administer_body(cast, injected_mg="10", drawn_mg="10", topup=True)
    )
    assert topped.status_code == 200
    assert len(topped.json()["administrations"]) == 2
    soon = post(cast.client("hca"), am, "observe", {"outcome": "no_concerns"})
    assert soon.json()["code"] == "observation_too_soon"
    at_nine.shift(dt.timedelta(minutes=20))
    done = post(cast.client("hca"), am, "observe", {"outcome": "no_concerns"})
    assert done.status_code == 200
    assert done.json()["status"] == "observed"


@pytest.mark.parametrize("who", ["nurse", "hca", "prescriber"])
def test_withhold_and_decline_are_for_nurses(cast, am, who):
    response = post(cast.client(who), am, "withhold", {"reason": "intoxicated"})
    assert response.status_code == (200 if who == "nurse" else 403)


def test_decline_ends_the_session(cast, am):
    response = post(cast.client("nurse"), am, "decline", {"note": "Not today"})
    assert response.json()["status"] == "declined"
    again = post(cast.client("nurse"), am, "withhold", {"reason": "clinical"})
    assert again.status_code == 409


def test_unknown_fields_and_bad_choices_are_400s(cast, am):
    client = cast.client("nurse")
    assert post(client, am, "assess", {**ASSESS, "pos": "1"}).status_code == 400
    assert post(client, am, "assess", {"identity_confirmed": True, "poss": "5"}).status_code == 400


@pytest.mark.parametrize(
    ("who", "expected"),
    [("nurse", 1), ("hca", 1), ("prescriber", 1), ("manager", 1), ("nurse_b", 0)],
)
def test_the_list_filters_and_scopes(cast, am, who, expected):
    response = cast.client(who).get(
        "/api/v1/dose-sessions/", {"date": "2026-02-10", "slot": "AM", "status": "scheduled"}
    )
    assert response.status_code == 200
    assert response.json()["count"] == expected


@pytest.mark.parametrize("size", [15, 150])
def test_the_list_runs_fixed_queries(cast, size):
    for n in range(size):
        on_prescription(cast, topup_max_mg="10", family_name=f"P{n:03d}")
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=SET_UP)
    client = cast.client("nurse")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/dose-sessions/", {"date": "2026-02-10"})
    assert response.json()["count"] == 2 * size
    # The assessments are a prefetched list (a deferred session has several), and one
    # query finds no closed window to settle, one reads the session's second-factor
    # device: 15, any size.
    assert len(queries) <= 15, len(queries)


def test_another_clinics_nurse_cannot_act_on_the_session(cast, am):
    nurse_b = make_staff(cast.clinic_b, Role.NURSE)
    client = cast.client(None)
    client.force_login(nurse_b)
    assert post(client, am, "assess", ASSESS).status_code == 404
