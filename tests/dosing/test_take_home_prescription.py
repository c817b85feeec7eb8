"""Take-home prescriptions (issue 19.2): a prescriber writes take-home doses as their
own versioned prescription, under the clinic's criteria (a required one not met
blocks by name; an advisory one needs a written reason) and the hard stops: the
ceiling per dose, and the daily ceiling counting clinic and take-home doses together,
whichever of the two prescriptions is written second."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from dosing.models import TakeHomePrescription
from dosing.prescribing import prescription_issue
from dosing.take_home import take_home_in_force, take_home_prescribe
from eligibility.models import Status
from eligibility.services import policy_issue, service_user_transition
from tests.dosing.take_home_setup import AT, START, in_maintenance, stable
from tests.factories import make_service_user
from tests.helpers import form_data, refused

pytestmark = pytest.mark.django_db

TODAY = AT.date()  # a Thursday
WEEKENDS = {"slot_codes": ["PM"], "weekdays": ["sat", "sun"]}


def prescribe(cast, person, **changes):
    return take_home_prescribe(
        **{
            "service_user": person,
            "prescriber": cast.prescriber,
            "route": "oral",
            "dose_mg": "60",
            **WEEKENDS,
            "valid_from": TODAY + dt.timedelta(days=1),
            "valid_to": TODAY + dt.timedelta(days=28),
            "reason": "Stable; works weekends away from the clinic",
            "now": AT,
            **changes,
        }
    )


def clinic_policy(cast, since=START - dt.timedelta(days=1), **values):
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        reason="Take-home set-up",
        effective_from=since,
        now=since - dt.timedelta(days=1),
        **values,
    )


def test_an_eligible_service_user_is_prescribed_take_home_as_a_new_version(cast):
    person = stable(cast)
    first = prescribe(cast, person)
    assert (first.version, first.doses_per_week, first.days_label) == (1, 2, "Sat, Sun")
    assert first.criteria[0] == {
        "code": "maintenance",
        "level": "required",
        "met": True,
        "evidence": "In maintenance since 27 Aug 2026: 13 weeks (12 needed).",
    }
    assert [c["met"] for c in first.criteria] == [True] * 6
    second = prescribe(
        cast,
        person,
        dose_mg="50",
        weekdays=["fri", "sat", "sun"],
        valid_from=TODAY + dt.timedelta(days=8),
    )
    assert second.version == 2
    saturday, next_saturday = TODAY + dt.timedelta(days=2), TODAY + dt.timedelta(days=9)
    assert take_home_in_force(service_user=person, day=saturday) == first
    assert take_home_in_force(service_user=person, day=next_saturday) == second
    assert first.applies_on(saturday) and not first.applies_on(TODAY)
    assert take_home_in_force(service_user=person, day=TODAY + dt.timedelta(days=40)) is None


def test_a_required_criterion_not_met_blocks_by_name_and_writes_nothing(cast):
    person = in_maintenance(cast, since=AT - dt.timedelta(weeks=3), sessions=False)
    refusal = refused("take_home_criteria_unmet", prescribe, cast=cast, person=person)
    assert "at least 12 weeks in maintenance is not met: In maintenance since 5 Nov 2026" in (
        refusal.message
    )
    assert "no street-heroin marker in the last 3 tox screens is not met" in refusal.message
    assert not TakeHomePrescription.objects.exists()


def test_an_advisory_criterion_not_met_needs_the_prescribers_reason(cast):
    clinic_policy(
        cast,
        take_home_levels={"maintenance": "advisory", "adherence": "off", "clean_tox": "off"},
    )
    person = in_maintenance(cast, since=AT - dt.timedelta(weeks=3), sessions=False)
    refusal = refused("criteria_reason_required", prescribe, cast=cast, person=person)
    assert refusal.field == "criteria_reason"
    assert "at least 12 weeks in maintenance is not met" in refusal.message
    issued = prescribe(cast, person, criteria_reason="Transferred stable from Leeds")
    assert issued.criteria_reason == "Transferred stable from Leeds"
    assert issued.criteria[0]["met"] is False


def test_more_doses_a_week_than_the_clinic_allows_are_refused_or_need_a_reason(cast):
    person = stable(cast)
    every_day_twice = {"slot_codes": ["AM", "PM"], "weekdays": ["mon", "tue", "wed", "thu"]}
    refusal = refused(
        "take_home_criteria_unmet", prescribe, cast=cast, person=person, **every_day_twice
    )
    assert refusal.field == "weekdays"
    assert "8 take-home doses in a week; at most 7" in refusal.message
    clinic_policy(cast, take_home_levels={"weekly_maximum": "advisory"})
    issued = prescribe(cast, person, **every_day_twice, criteria_reason="Away for work")
    assert issued.doses_per_week == 8


@pytest.mark.parametrize(
    ("dose", "code"),
    [
        ("401", "injection_above_ceiling"),  # above the clinic's ceiling per dose
        ("351", "daily_total_above_ceiling"),  # AM 300 + 351 > the clinic's 650 mg
        ("301", "take_home_above_daily_total"),  # AM 300 + 301 > the prescription's 600
    ],
)
def test_the_day_with_take_home_keeps_every_ceiling(cast, dose, code):
    clinic_policy(cast, max_daily_total_mg="650")
    person = stable(cast, slot_doses={"AM": "300", "PM": "300"}, max_daily_total_mg="600")
    refusal = refused(code, prescribe, cast=cast, person=person, dose_mg=dose)
    assert refusal.field == "dose_mg"
    assert prescribe(cast, person, dose_mg="300").dose_mg == 300


def test_a_new_clinic_prescription_keeps_the_ceiling_with_the_take_home_in_force(cast):
    clinic_policy(cast, max_daily_total_mg="700")
    person = stable(cast, slot_doses={"AM": "300", "PM": "300"}, max_daily_total_mg="700")
    prescribe(cast, person, dose_mg="350")  # 300 + 350 on a weekend
    raise_am = {
        "service_user": person,
        "prescriber": cast.prescriber,
        "slot_doses": {"AM": "380", "PM": "300"},  # 680 alone: within 700
        "max_daily_total_mg": "700",
        "reason": "Cravings in the morning",
        "now": AT,
    }
    refusal = refused("daily_total_above_ceiling", prescription_issue, **raise_am)
    assert refusal.field == "slot_doses"
    assert "add up to 730 mg on a take-home day" in refusal.message
    assert prescription_issue(**{**raise_am, "slot_doses": {"AM": "340", "PM": "300"}})


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"valid_from": TODAY - dt.timedelta(days=1)}, "take_home_in_past", "valid_from"),
        ({"valid_to": TODAY}, "take_home_ends_before_it_starts", "valid_to"),
        ({"valid_to": TODAY + dt.timedelta(weeks=13)}, "take_home_too_long", "valid_to"),
        ({"slot_codes": ["EVE"]}, "take_home_slots_invalid", "slot_codes"),
        ({"weekdays": []}, "take_home_days_invalid", "weekdays"),
        ({"weekdays": ["someday"]}, "take_home_days_invalid", "weekdays"),
        ({"route": "nasal"}, "choice_invalid", "route"),
        ({"dose_mg": "0"}, "dose_not_positive", "dose_mg"),
        ({"reason": " "}, "reason_required", "reason"),
    ],
)
def test_bad_input_is_refused_beside_its_field(cast, changes, code, field):
    person = in_maintenance(cast, sessions=False)
    refusal = refused(code, prescribe, cast=cast, person=person, **changes)
    assert refusal.field == field
    assert not TakeHomePrescription.objects.exists()


def test_no_take_home_while_re_titration_is_required_or_without_a_clinic_prescription(cast):
    clinic_policy(
        cast, take_home_levels=dict.fromkeys(["maintenance", "adherence", "clean_tox"], "off")
    )
    person = in_maintenance(cast)
    service_user_transition(
        service_user=person,
        to_status=Status.RETITRATION_REQUIRED,
        changed_by=cast.prescriber,
        reason="Three sessions missed",
        now=AT - dt.timedelta(hours=2),
    )
    refused("take_home_not_allowed_now", prescribe, cast=cast, person=person)

    unprescribed = make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=START
    )
    clinic_policy(
        cast,
        since=START,
        take_home_levels={"no_retitration": "off", "no_adverse_event": "off"},
    )
    refused("no_prescription", prescribe, cast=cast, person=unprescribed)


# The API and the page.

API = "/api/v1/take-home/prescriptions/"


def body(person, **changes):
    return {
        "service_user": person.pk,
        "route": "oral",
        "dose_mg": "60",
        **WEEKENDS,
        "valid_from": str(TODAY + dt.timedelta(days=1)),
        "valid_to": str(TODAY + dt.timedelta(days=28)),
        "reason": "Weekends at home",
        **changes,
    }


def test_a_prescriber_prescribes_through_the_api_and_others_may_only_read(cast):
    person = stable(cast)
    with time_machine.travel(AT, tick=False):
        for who, status in (("nurse", 403), ("manager", 403), ("hca", 403), ("nurse_b", 403)):
            answer = cast.client(who).post(API, body(person), content_type="application/json")
            assert answer.status_code == status, who
        refusal = cast.client("prescriber").post(
            API,
            body(
                person,
                weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                slot_codes=["AM", "PM"],
            ),
            content_type="application/json",
        )
        assert (refusal.status_code, refusal.json()["code"]) == (400, "take_home_criteria_unmet")
        assert refusal.json()["field"] == "weekdays"
        made = cast.client("prescriber").post(API, body(person), content_type="application/json")
        assert made.status_code == 201, made.json()
        assert made.json()["doses_per_week"] == 2 and made.json()["weekdays"] == ["sat", "sun"]
        for who in ("nurse", "hca", "manager"):
            listed = cast.client(who).get(API, {"service_user": person.pk}).json()["results"]
            assert [row["version"] for row in listed] == [1]
        assert cast.client("nurse_b").get(API).json()["results"] == []
        other = cast.client("nurse_b").get(f"{API}{made.json()['id']}/")
        assert other.status_code == 404


def test_the_page_keeps_what_was_typed_on_a_refusal_and_then_prescribes(cast):
    person = stable(cast)
    url = reverse("take-home-prescription-new", args=[person.pk])
    with time_machine.travel(AT, tick=False):
        client = cast.client("prescriber")
        page = client.get(url)
        assert page.status_code == 200
        assert "Eligible: every criterion the clinic requires is met." in page.content.decode()
        form = {
            **form_data(page.content.decode(), aria_label="Prescribe take-home"),
            "route": "oral",
            "dose_mg": "60",
            "slot_codes": ["AM", "PM"],
            "weekdays": ["mon", "tue", "wed", "thu"],
            "valid_to": str(TODAY + dt.timedelta(days=28)),
            "reason": "Weekends at home",
        }
        refusal = client.post(url, form)
        assert refusal.status_code == 400
        assert "8 take-home doses in a week; at most 7" in " ".join(
            refusal.context["form"].errors["weekdays"]
        )
        kept = refusal.context["form"]
        assert kept["weekdays"].value() == ["mon", "tue", "wed", "thu"]
        assert kept["reason"].value() == "Weekends at home"
        done = client.post(url, {**form, "slot_codes": ["PM"]}, follow=True)
        text = done.content.decode()
        assert "Take-home version 1 is prescribed: 4 doses a week" in text
        assert "PM; Mon, Tue, Wed, Thu (4 a week)" in text


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("prescriber", 200),
        ("nurse", 403),
        ("hca", 403),
        ("manager", 403),
        ("nurse_b", 404),
        (None, 302),
    ],
)
def test_only_a_prescriber_opens_the_form(cast, who, status):
    person = in_maintenance(cast)
    url = reverse("take-home-prescription-new", args=[person.pk])
    assert cast.client(who).get(url).status_code == status
    if who not in ("prescriber", None):
        shown = cast.client(who).get(reverse("take-home", args=[person.pk]))
        assert "Prescribe take-home" not in shown.content.decode() or who == "nurse_b"


def test_the_form_says_why_when_take_home_cannot_be_prescribed_at_all(cast):
    """Not in treatment, needing re-titration, suspended, or with no clinic
    prescription: the page says why and offers no form; a POST is a 400 saying it."""
    person = in_maintenance(cast)  # its recent sessions left unattended
    unprescribed = make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=START
    )
    with time_machine.travel(AT, tick=False):
        client = cast.client("prescriber")
        for who, words in (
            (person, "Jamie Test cannot have take-home doses while re-titration required."),
            (unprescribed, "has no clinic prescription in force"),
        ):
            url = reverse("take-home-prescription-new", args=[who.pk])
            page = client.get(url)
            assert page.status_code == 200 and words in page.content.decode()
            assert 'aria-label="Prescribe take-home"' not in page.content.decode()
            answer = client.post(url, {"route": "oral", "dose_mg": "60"})
            assert answer.status_code == 400 and words in answer.content.decode()
    assert not TakeHomePrescription.objects.exists()
