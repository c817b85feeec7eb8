"""An unscheduled session (issue 18.7): a prescriber adds a session for today, on the
admission day or for a first dose outside the slots, within opening hours. It gives
one prescribed slot's dose and follows every rule of a scheduled session: the minimum
interval before the next slot, one session per slot and day, and the missed-dose scan
at its close."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from core.errors import RuleViolation
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, SessionStatus
from dosing.sessions import dose_sessions_generate, session_unscheduled_add
from eligibility.models import Status
from tests.conftest import EVERYONE
from tests.dosing.room_setup import give_dose
from tests.factories import make_service_user
from tests.helpers import refused
from tests.monitoring.scan_setup import london, people_on_prescription, session_of

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 3)
# Between the AM window (08:00-11:30) and the PM one (13:00-17:30).
NOON = london(DAY, 12, 0)


@pytest.fixture
def admitted_this_morning(cast):
    """In treatment on a prescription since before today, with no session today: the
    schedule ran before they were admitted."""
    return people_on_prescription(cast, 1, status=Status.TITRATION)[0]


def add(cast, person, slot="AM", *, at=NOON, who=None):
    return session_unscheduled_add(
        service_user=person,
        slot_code=slot,
        prescriber=who or cast.prescriber,
        reason="Admitted today",
        now=at,
    )


def test_a_prescriber_opens_a_session_now_that_doses_like_any_other(cast, admitted_this_morning):
    person = admitted_this_morning
    session = add(cast, person)
    assert (session.slot_code, session.status, session.added_by) == (
        "AM",
        SessionStatus.SCHEDULED,
        cast.prescriber,
    )
    assert (session.opens_at, session.closes_at) == (NOON, london(DAY, 17, 30))
    assert session.history.get().history_change_reason == "Unscheduled session: Admitted today"
    give_dose(cast, session, london(DAY, 12, 10))
    assert session.status == SessionStatus.ADMINISTERED
    # The PM session, generated now, follows the minimum interval from this dose.
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=london(DAY, 12, 30))
    pm = session_of(person, DAY, "PM")
    with pytest.raises(RuleViolation) as too_soon:
        give_dose(cast, pm, london(DAY, 14, 0))
    assert too_soon.value.code == "interval_too_short"
    assert DoseSession.objects.filter(service_user=person, clinic_day=DAY).count() == 2


def test_an_unattended_unscheduled_session_is_missed_at_its_close(cast, admitted_this_morning):
    session = add(cast, admitted_this_morning)
    missed_sessions_scan(now=london(DAY, 17, 31))
    session.refresh_from_db()
    assert session.status == SessionStatus.MISSED


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (london(DAY, 7, 59), "outside_opening_hours"),
        (london(DAY, 17, 30), "outside_opening_hours"),
        (london(DAY, 22, 0), "outside_opening_hours"),
    ],
)
def test_outside_opening_hours_is_refused(cast, admitted_this_morning, at, code):
    refusal = refused(code, add, cast=cast, person=admitted_this_morning, at=at)
    assert "08:00 to 17:30" in refusal.message
    assert not DoseSession.objects.filter(service_user=admitted_this_morning).exists()


def test_one_session_per_slot_and_day_even_unscheduled(cast, admitted_this_morning):
    add(cast, admitted_this_morning)
    refused("session_exists", add, cast=cast, person=admitted_this_morning)
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=london(DAY, 12, 30))
    assert (
        DoseSession.objects.filter(service_user=admitted_this_morning, slot_code="AM").count() == 1
    )


def test_a_slot_the_prescription_does_not_dose_is_refused(cast, admitted_this_morning):
    refusal = refused("no_dose_for_slot", add, cast=cast, person=admitted_this_morning, slot="EVE")
    assert refusal.field == "slot_code"


def test_someone_not_in_treatment_is_refused(cast):
    waiting = make_service_user(cast.clinic_a, Status.WAITING)
    refused("not_in_treatment", add, cast=cast, person=waiting)


def test_only_a_prescriber_of_the_clinic_adds_one(cast, admitted_this_morning):
    for who in (cast.nurse, cast.manager, cast.nurse_b):
        refused("prescriber_required", add, cast=cast, person=admitted_this_morning, who=who)


def test_the_page_opens_the_session_and_keeps_what_was_typed_on_a_refusal(
    cast, admitted_this_morning
):
    page = reverse("session-new", args=[admitted_this_morning.pk])
    client = cast.client("prescriber")
    with time_machine.travel(NOON, tick=False):
        assert client.get(page).status_code == 200
        no_reason = client.post(page, {"slot_code": "PM", "reason": ""})
        assert no_reason.status_code == 400
        assert (
            'value="PM" checked'
            in no_reason.content.decode().replace(
                'value="PM" id="id_slot_code_1" checked', 'value="PM" checked'
            )
            or no_reason.context["form"].data["slot_code"] == "PM"
        )
        done = client.post(page, {"slot_code": "AM", "reason": "Admitted today"})
    session = DoseSession.objects.get(service_user=admitted_this_morning)
    assert done.status_code == 302 and done.url == reverse("dose-session", args=[session.pk])


@pytest.mark.parametrize("who", [w for w in EVERYONE if w != "prescriber"])
def test_the_page_is_the_prescribers(cast, admitted_this_morning, who):
    page = reverse("session-new", args=[admitted_this_morning.pk])
    with time_machine.travel(NOON, tick=False):
        answer = cast.client(who).post(page, {"slot_code": "AM", "reason": "x"})
    assert answer.status_code in ((302,) if who is None else (403, 404))
    assert not DoseSession.objects.exists()


def test_the_api_adds_one_for_a_prescriber(cast, admitted_this_morning):
    body = {"service_user": admitted_this_morning.pk, "slot_code": "AM", "reason": "Admitted"}
    with time_machine.travel(NOON, tick=False):
        made = cast.client("prescriber").post(
            "/api/v1/dose-sessions/", body, content_type="application/json"
        )
        assert made.status_code == 201, made.json()
        assert (made.json()["slot_code"], made.json()["status"]) == ("AM", "scheduled")
        again = cast.client("prescriber").post(
            "/api/v1/dose-sessions/", body, content_type="application/json"
        )
        assert again.status_code == 400 and again.json()["code"] == "session_exists"
        theirs = cast.client("nurse_b").post(
            "/api/v1/dose-sessions/", body, content_type="application/json"
        )
        assert theirs.status_code == 403


def test_on_the_day_a_clinic_opens_its_morning_counts_as_opening_hours(cast):
    """A clinic opened at 10:00 has no AM session generated that day (its policy was
    not in force at 08:00), yet 10:05 is within its hours."""
    from tests.factories import make_clinic

    opened = london(DAY, 10, 0)
    clinic = make_clinic("Opened this morning", now=opened)
    from eligibility.services import staff_member_add

    staff_member_add(clinic=clinic, user=cast.prescriber, roles=["Prescriber"])
    from dosing.prescribing import prescription_issue

    person = make_service_user(clinic, Status.TITRATION, by=cast.prescriber, now=opened)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "15", "PM": "15"},
        topup_max_mg="15",
        reason="Induction",
        now=london(DAY, 10, 1),
    )
    session = add(cast, person, at=london(DAY, 10, 5))
    assert (session.opens_at, session.closes_at) == (london(DAY, 10, 5), london(DAY, 17, 30))
