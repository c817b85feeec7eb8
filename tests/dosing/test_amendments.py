"""Corrections are dated amendments beside the original, which is never changed."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from dosing.amendments import session_amend
from dosing.models import Administration, Amendment
from hat_clinic.errors import RuleViolation
from tests.dosing.room_setup import NINE, dosed_at_nine, on_prescription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_ten():
    with time_machine.travel(NINE + dt.timedelta(hours=1), tick=False):
        yield


@pytest.fixture
def dosed(cast):
    return dosed_at_nine(cast, on_prescription(cast, slot_doses={"AM": "60"}))


def amend(session, who, changes, record="administration", reason="Mis-keyed"):
    return session_amend(
        session=session, amended_by=who, record=record, changes=changes, reason=reason
    )


def test_a_correction_points_at_the_original_and_leaves_it_unchanged(cast, dosed):
    first = amend(dosed, cast.nurse, {"injected_mg": "55"})
    assert first.changes == {"injected_mg": {"from": "60", "to": "55"}}
    assert first.administration == Administration.objects.get()
    assert Administration.objects.get().injected_mg == Decimal("60")  # the original stays
    second = amend(dosed, cast.nurse, {"injected_mg": "50"}, reason="Recounted")
    assert second.changes == {"injected_mg": {"from": "55", "to": "50"}}  # from the current
    assert [a.reason for a in dosed.amendments.all()] == ["Mis-keyed", "Recounted"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"injected_mg": "61"}, "injected_above_drawn"),
        ({"injected_mg": "0"}, "dose_not_positive"),
        ({"witness": "someone"}, "field_not_amendable"),
        ({"site": "deltoid"}, "site_not_for_route"),
        ({"injected_mg": "60"}, "nothing_changed"),
    ],
)
def test_corrections_are_checked_like_the_original(cast, dosed, changes, code):
    with pytest.raises(RuleViolation) as refused:
        amend(dosed, cast.nurse, changes)
    assert refused.value.code == code
    assert not Amendment.objects.exists()


def test_a_correction_needs_a_reason(cast, dosed):
    with pytest.raises(RuleViolation) as refused:
        amend(dosed, cast.nurse, {"injected_mg": "55"}, reason=" ")
    assert refused.value.code == "reason_required"


def test_only_existing_records_can_be_corrected(cast, dosed):
    with pytest.raises(RuleViolation) as refused:
        amend(dosed, cast.nurse, {"outcome": "no_concerns"}, record="observation")
    assert refused.value.code == "nothing_to_amend"
    assessment = amend(dosed, cast.nurse, {"poss": "2"}, record="assessment")
    assert assessment.changes == {"poss": {"from": "1", "to": "2"}}


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
def test_only_a_nurse_amends_through_the_api(cast, dosed, who, expected):
    response = cast.client(who).post(
        f"/api/v1/dose-sessions/{dosed.pk}/amend/",
        {
            "record": "administration",
            "sequence": 1,
            "changes": {"injected_mg": "55"},
            "reason": "Mis-keyed",
        },
        content_type="application/json",
    )
    assert response.status_code == expected
    if expected == 200:
        amendments = response.json()["amendments"]
        assert amendments[0]["changes"] == {"injected_mg": {"from": "60", "to": "55"}}
        assert response.json()["administrations"][0]["injected_mg"] == "60.00"


def test_the_page_shows_the_correction_beside_the_original(cast, dosed):
    client = cast.client("nurse")
    page = client.post(
        reverse("dose-session", args=[dosed.pk]),
        {
            "action": "amend",
            "record": "administration",
            "sequence": "1",
            "field": "injected_mg",
            "value": "55",
            "reason": "Mis-keyed",
        },
        follow=True,
    )
    text = page.content.decode()
    assert "Correction recorded beside the original." in text
    assert "60.00 mg intravenous" in text  # the original
    assert "injected_mg 60 → 55. Why: Mis-keyed" in text
    other = cast.client("hca").post(
        reverse("dose-session", args=[dosed.pk]),
        {
            "action": "amend",
            "record": "administration",
            "field": "injected_mg",
            "value": "1",
            "reason": "x",
        },
    )
    assert other.status_code == 403


def test_each_step_of_a_session_is_in_its_history_with_who_and_why(cast, dosed):
    steps = list(
        dosed.history.order_by("history_id").values_list(
            "status", "history_user", "history_change_reason"
        )
    )
    assert steps == [
        ("assessed", cast.nurse.pk, "Assessed: POSS 1"),
        ("administered", cast.nurse.pk, "Administered"),
    ]


@pytest.fixture
def overdose(cast, dosed):
    from dosing.room import session_observe

    session_observe(
        session=dosed,
        observer=cast.nurse,
        outcome="adverse_event",
        details="Respiratory depression",
        overdose=True,
        naloxone_mg="0.4",
        naloxone_at=NINE + dt.timedelta(minutes=5),
    )
    return dosed


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"outcome": "no_concerns"}, "adverse_event_marked_no_concerns"),  # signs kept
        ({"details": ""}, "details_required"),
        ({"naloxone_at": ""}, "naloxone_time_required"),
    ],
)
def test_a_corrected_observation_keeps_the_rules_of_an_observation(cast, overdose, changes, code):
    with pytest.raises(RuleViolation) as refused:
        amend(overdose, cast.nurse, changes, record="observation")
    assert refused.value.code == code
    response = cast.client("nurse").post(
        f"/api/v1/dose-sessions/{overdose.pk}/amend/",
        {"record": "observation", "changes": changes, "reason": "Mis-keyed"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert not Amendment.objects.exists()
    cleared = amend(
        overdose,
        cast.nurse,
        {"outcome": "no_concerns", "overdose": False, "naloxone_mg": "", "naloxone_at": ""},
        record="observation",
        reason="Entered against the wrong person",
    )
    assert cleared.changes["outcome"] == {"from": "adverse_event", "to": "no_concerns"}


def test_the_page_refuses_an_incoherent_observation_correction(cast, overdose):
    page = cast.client("nurse").post(
        reverse("dose-session", args=[overdose.pk]),
        {
            "action": "amend",
            "record": "observation",
            "field": "outcome",
            "value": "no_concerns",
            "reason": "Mis-keyed",
        },
        follow=True,
    )
    assert "Over-sedation, overdose, naloxone or an ambulance is an adverse event" in (
        page.content.decode()
    )
    assert not Amendment.objects.exists()
