"""Corrections are dated amendments beside the original, which is never changed."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from core.errors import RuleViolation
from dosing.amendments import session_amend
from dosing.models import Administration, Amendment
from tests.dosing.room_setup import NINE, dosed_at_nine, on_prescription
from tests.factories import PASSWORD
from tests.helpers import form_data

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture(autouse=True)
def at_ten():
    with time_machine.travel(NINE + dt.timedelta(hours=1), tick=False):
        yield


@pytest.fixture
def dosed(cast):
    return dosed_at_nine(cast, on_prescription(cast, slot_doses={"AM": "60"}))


def amend(session, who, changes, record="administration", reason="Mis-keyed", witness=None):
    """A correction; one of an injection is witnessed by the HCA unless told otherwise."""
    if witness is None and record == "administration":
        witness = User.objects.get(username="hca_a")
    return session_amend(
        session=session,
        amended_by=who,
        record=record,
        changes=changes,
        reason=reason,
        witness_username=witness.username if witness else "",
        witness_password=PASSWORD if witness else "",
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
    assessment = amend(
        dosed, cast.nurse, {"poss": "2", "caution_reason": "Chatting"}, record="assessment"
    )
    assert assessment.changes == {
        "poss": {"from": "1", "to": "2"},
        "caution_reason": {"from": "", "to": "Chatting"},
    }


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
            "witness_username": "hca_a",
            "witness_password": PASSWORD,
        },
        content_type="application/json",
    )
    assert response.status_code == expected
    if expected == 200:
        amendments = response.json()["amendments"]
        assert amendments[0]["changes"] == {"injected_mg": {"from": "60", "to": "55"}}
        assert response.json()["administrations"][0]["injected_mg"] == "60.00"


def correct_on_page(client, session, label, changes, reason="Mis-keyed", witness=None):
    """Post the page's correction form for a record, as a nurse would fill it in: every
    field as it now reads, the ones typed over changed."""
    url = reverse("dose-session", args=[session.pk])
    data = form_data(client.get(url).content.decode(), aria_label=f"Correct the {label}")
    prefix = next(name for name in data if name.endswith("-reason")).removesuffix("reason")
    data.update({prefix + name: value for name, value in changes.items()})
    data[prefix + "reason"] = reason
    if witness is not None:
        data[prefix + "witness_username"] = witness.username
        data[prefix + "witness_password"] = PASSWORD
    return client.post(url, data, follow=True)


def test_the_page_lists_the_fields_by_label_with_the_values_as_they_read(cast, dosed):
    page = cast.client("nurse").get(reverse("dose-session", args=[dosed.pk])).content.decode()
    data = form_data(page, aria_label="Correct the injection")
    assert data["amend-administration-1-injected_mg"] == "60"
    assert data["amend-administration-1-injected_at"] == "09:00"
    assert data["amend-administration-1-route"] == "iv"
    for label in ("Drawn up (mg)", "Injected (mg)", "Time of injection", "Witness password"):
        assert f">{label}</label>" in page
    assert ">injected_mg<" not in page


def test_the_page_shows_the_correction_beside_the_original(cast, dosed):
    client = cast.client("nurse")
    page = correct_on_page(client, dosed, "injection", {"injected_mg": "55"}, witness=cast.hca)
    text = page.content.decode()
    assert "Correction recorded beside the original." in text
    assert "Injected (mg) 60 → 55. Why: Mis-keyed" in text
    assert "witnessed by" in text
    assert "55 mg intravenous" in text  # the injection as it now reads, marked corrected
    assert "corrected</span>" in text
    assert Administration.objects.get().injected_mg == Decimal("60")  # the original stays
    other = cast.client("hca").post(
        reverse("dose-session", args=[dosed.pk]),
        {"action": "amend", "record": "administration", "sequence": "1"},
    )
    assert other.status_code == 403


def test_a_correction_of_an_injection_without_its_witness_is_refused_on_the_page(cast, dosed):
    client = cast.client("nurse")
    page = correct_on_page(client, dosed, "injection", {"injected_mg": "55"})
    assert page.status_code == 400
    text = page.content.decode()
    assert "The witness enters their username" in text
    # What was typed is still there, the reason included.
    data = form_data(text, aria_label="Correct the injection")
    assert data["amend-administration-1-injected_mg"] == "55"
    assert data["amend-administration-1-reason"] == "Mis-keyed"
    assert not Amendment.objects.exists()


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
    page = correct_on_page(
        cast.client("nurse"), overdose, "observation", {"outcome": "no_concerns"}
    )
    assert page.status_code == 400
    assert "Over-sedation, overdose, naloxone or an ambulance is an adverse event" in (
        page.content.decode()
    )
    assert not Amendment.objects.exists()
