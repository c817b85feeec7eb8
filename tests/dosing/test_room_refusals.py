"""Every dosing-room hard stop, through the API and through the page, with the same
rule and words as the service. One scenario per stop, built through the services."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from dosing.assessment import session_assess
from dosing.models import DoseSession
from dosing.prescribing import prescription_issue
from dosing.room import dose_administer
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from eligibility.services import service_user_transition
from tests.dosing.room_setup import with_breath_thresholds
from tests.factories import PASSWORD, TRANSFER, make_service_user

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 2, 10)
SET_UP = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


def at(hh, mm=0):
    return dt.datetime.combine(DAY, dt.time(hh, mm), tzinfo=LONDON)


def person(cast, flags=(), daily=None, topup="10"):
    someone = make_service_user(
        cast.clinic_a, Status.TITRATION, by=cast.prescriber, now=SET_UP, flags=flags
    )
    prescription_issue(
        service_user=someone,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60", "PM": "60"},
        topup_max_mg=topup,
        max_daily_total_mg=daily,
        **TRANSFER,
        reason="Transfer",
        now=SET_UP,
    )
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=SET_UP)
    return someone


def slot(someone, code="AM"):
    return DoseSession.objects.get(service_user=someone, slot_code=code)


def assessed(cast, someone, when=None, code="AM"):
    session_assess(
        session=slot(someone, code),
        nurse=cast.nurse,
        identity_confirmed=True,
        poss="1",
        breath_mcg_per_100ml="0" if someone.flag_alcohol else None,
        now=when or at(9),
    )
    return slot(someone, code)


def injected(cast, session, when, mg="60"):
    dose_administer(
        session=session,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        drawn_mg=mg,
        injected_mg=mg,
        route="iv",
        site="arm",
        now=when,
    )


INJECTION = {"drawn_mg": "60", "injected_mg": "60", "route": "iv", "site": "arm"}


# Each: (name, build(cast) -> (session, now), action, form, code, words)
def outside_window(cast):
    return (
        slot(person(cast)),
        at(7, 59),
        "assess",
        {"poss": "1"},
        "outside_window",
        "The AM window is 08:00 to 11:30",
    )


def retitration(cast):
    someone = person(cast)
    service_user_transition(
        service_user=someone,
        to_status=Status.RETITRATION_REQUIRED,
        changed_by=None,
        reason="Missed three",
        now=at(8),
    )
    return (
        slot(someone),
        at(9),
        "assess",
        {"poss": "1"},
        "retitration_required",
        "no dose until a prescriber issues a re-titration prescription",
    )


def thresholds_unset(cast):
    return (
        slot(person(cast, flags=["alcohol"])),
        at(9),
        "assess",
        {"poss": "1", "breath": "0"},
        "breath_thresholds_unset",
        "has no breath alcohol thresholds set",
    )


def breath_withholds(cast):
    with_breath_thresholds(cast)
    return (
        slot(person(cast, flags=["alcohol"])),
        at(9),
        "assess",
        {"poss": "1", "breath": "22"},
        None,
        "at or above the withhold threshold of 22",
    )


def interval(cast):
    someone = person(cast)
    injected(cast, assessed(cast, someone, at(9, 30)), at(9, 30))
    return (
        assessed(cast, someone, at(13), "PM"),
        at(13, 29),
        "administer",
        INJECTION,
        "interval_too_short",
        "The next may start at 13:30",
    )


def dose_above(cast):
    return (
        assessed(cast, person(cast)),
        at(9),
        "administer",
        {**INJECTION, "drawn_mg": "61", "injected_mg": "60.01"},
        "dose_above_prescription",
        "above the prescribed AM dose of 60 mg",
    )


def topup_over(cast):
    session = assessed(cast, person(cast))
    injected(cast, session, at(9))
    return (
        session,
        at(9, 20),
        "topup",
        {**INJECTION, "drawn_mg": "11", "injected_mg": "10.01"},
        "topup_above_allowance",
        "above the top-up allowance of 10 mg",
    )


def topup_early(cast):
    session = assessed(cast, person(cast))
    injected(cast, session, at(9))
    return (
        session,
        at(9, 19),
        "topup",
        {**INJECTION, "drawn_mg": "5", "injected_mg": "5"},
        "topup_too_soon",
        "not before 09:20",
    )


def daily_max(cast):
    someone = person(cast, daily="125")
    am = assessed(cast, someone)
    injected(cast, am, at(9))
    pm = assessed(cast, someone, at(13, 30), "PM")
    injected(cast, pm, at(13, 30))
    return (
        pm,
        at(13, 50),
        "topup",
        {**INJECTION, "drawn_mg": "5.01", "injected_mg": "5.01"},
        "daily_total_exceeded",
        "above the prescribed daily maximum of 125 mg",
    )


SCENARIOS = [
    outside_window,
    retitration,
    thresholds_unset,
    breath_withholds,
    interval,
    dose_above,
    topup_over,
    topup_early,
    daily_max,
]


def api_body(action, form):
    if action == "assess":
        body = {"identity_confirmed": True, "poss": form["poss"]}
        if "breath" in form:
            body["breath_mcg_per_100ml"] = form["breath"]
        return "assess", body
    body = {**form, "witness_username": "", "witness_password": PASSWORD}
    if action == "topup":
        body["topup"] = True
    return "administer", body


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_the_api_refuses_with_the_rule_and_numbers(cast, scenario):
    session, now, action, form, code, words = scenario(cast)
    path, body = api_body(action, form)
    if "witness_username" in body:
        body["witness_username"] = cast.hca.username
    with time_machine.travel(now, tick=False):
        response = cast.client("nurse").post(
            f"/api/v1/dose-sessions/{session.pk}/{path}/", body, content_type="application/json"
        )
    if code is None:  # a withhold: recorded, and the reason is on the session
        assert response.status_code == 200
        assert response.json()["status"] == "withheld"
        assert words in response.json()["outcome_note"]
    else:
        assert response.status_code == 400, response.content
        assert response.json()["code"] == code
        assert words in response.json()["detail"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_the_page_shows_the_same_refusal(cast, scenario):
    session, now, action, form, code, words = scenario(cast)
    names = {"breath": "breath_mcg_per_100ml"}
    data = {"action": action, **{f"{action}-{names.get(k, k)}": v for k, v in form.items()}}
    if action == "assess":
        data["assess-identity_confirmed"] = "on"
    if action in ("administer", "topup"):
        data[f"{action}-witness_username"] = cast.hca.username
        data[f"{action}-witness_password"] = PASSWORD
    with time_machine.travel(now, tick=False):
        page = cast.client("nurse").post(
            reverse("dose-session", args=[session.pk]), data, follow=True
        )
    # A refusal is a 400 with the page and what was typed; a withhold is recorded.
    assert page.status_code == (200 if code is None else 400)
    assert words in page.content.decode().replace("&#x27;", "'")
