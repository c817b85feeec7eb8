"""Prescribing limits after a lapse and in maintenance (issue 15.5 and 15.6; docs/domain.md,
"Prescribing and titration"): the clinic's ceiling per injection is a hard stop; the
first re-titration version may not exceed the dose before the lapse and above half of
it needs a written clinical reason; a maintenance rise above the clinic's step needs
one too, and shows as a caution on the review page."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from dosing.prescribing import prescription_issue
from dosing.reviews import review_record
from eligibility.models import Status
from eligibility.services import policy_issue, service_user_transition
from tests.factories import TRANSFER, make_service_user
from tests.helpers import form_data, refused
from tests.monitoring.scan_setup import SET_UP

pytestmark = pytest.mark.django_db

T = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC)


def on(cast, am="200", pm="200", status=Status.MAINTENANCE):
    person = make_service_user(cast.clinic_a, status, by=cast.prescriber, now=SET_UP)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": am, "PM": pm},
        **TRANSFER,
        reason="Transfer",
        now=SET_UP,
    )
    return person


def prescribe(cast, person, *, when=T, **fields):
    fields.setdefault("reason", "Change")
    return prescription_issue(service_user=person, prescriber=cast.prescriber, now=when, **fields)


def lapsed(person):
    service_user_transition(
        service_user=person,
        to_status=Status.RETITRATION_REQUIRED,
        changed_by=None,
        reason="Three sessions not taken",
        now=T - dt.timedelta(hours=1),
    )
    return person


# The ceiling per injection.


def test_a_dose_above_400_mg_in_one_injection_is_refused(cast):
    person = on(cast, am="15", pm="15")
    error = refused(
        "injection_above_ceiling",
        prescribe,
        cast=cast,
        person=person,
        slot_doses={"AM": "1000"},
        max_daily_total_mg="1000",
    )
    assert error.field == "slot_doses.AM"
    assert "AM asks for 1000 mg in one injection" in error.message
    assert "the most allowed is 400 mg" in error.message
    error = refused(
        "injection_above_ceiling",
        prescribe,
        cast=cast,
        person=person,
        slot_doses={"AM": "20"},
        topup_max_mg="410",
    )
    assert error.field == "topup_max_mg"


def test_the_ceiling_per_injection_is_the_clinics(cast):
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=None,
        reason="Lower",
        effective_from=SET_UP,
        now=SET_UP - dt.timedelta(minutes=1),
        max_injection_mg=Decimal("250"),
    )
    person = on(cast)
    error = refused(
        "injection_above_ceiling", prescribe, cast=cast, person=person, slot_doses={"AM": "260"}
    )
    assert "the most allowed is 250 mg" in error.message
    assert prescribe(cast, person, slot_doses={"AM": "250"}).dose_for("AM") == Decimal("250")


# In maintenance.


def test_a_maintenance_rise_above_the_step_needs_a_clinical_reason(cast):
    person = on(cast, am="100", pm="100")
    error = refused(
        "clinical_reason_required",
        prescribe,
        cast=cast,
        person=person,
        slot_doses={"AM": "160", "PM": "100"},
    )
    assert error.field == "clinical_reason"
    assert "AM rises from 100 mg to 160 mg within 7 days" in error.message
    assert "step of 50% (at most 150 mg" in error.message
    # Within the step, no reason is asked for.
    within = prescribe(cast, person, slot_doses={"AM": "150", "PM": "100"})
    assert within.caution == ""
    # A day later, 200 mg is a third above 150 mg but double the week's lowest, 100 mg.
    error = refused(
        "clinical_reason_required",
        prescribe,
        cast=cast,
        person=person,
        when=T + dt.timedelta(days=1),
        slot_doses={"AM": "200", "PM": "100"},
    )
    assert "AM rises from 100 mg to 200 mg" in error.message
    risen = prescribe(
        cast,
        person,
        when=T + dt.timedelta(days=1),
        slot_doses={"AM": "200", "PM": "100"},
        clinical_reason="Still using on top; agreed with the team",
    )
    assert risen.caution.startswith("AM rises from 100 mg to 200 mg within 7 days")
    assert risen.clinical_reason == "Still using on top; agreed with the team"


def test_after_the_period_the_rise_counts_from_the_dose_then_in_force(cast):
    person = on(cast, am="100", pm="100")
    prescribe(cast, person, slot_doses={"AM": "150", "PM": "100"})
    later = prescribe(
        cast, person, when=T + dt.timedelta(days=8), slot_doses={"AM": "220", "PM": "100"}
    )
    assert later.caution == ""


# After a lapse.


def test_the_first_retitration_version_may_not_exceed_the_dose_before_the_lapse(cast):
    person = lapsed(on(cast))
    error = refused(
        "retitration_above_prelapse",
        prescribe,
        cast=cast,
        person=person,
        slot_doses={"AM": "300", "PM": "100"},
        clinical_reason="Asked for more",
    )
    assert "AM was 200 mg, and 300 mg was asked" in error.message
    error = refused(
        "clinical_reason_required",
        prescribe,
        cast=cast,
        person=person,
        slot_doses={"AM": "150", "PM": "100"},
    )
    assert "AM restarts at 150 mg, above half the dose before the lapse (100 mg of 200 mg)" in (
        error.message
    )
    person.refresh_from_db()
    assert person.status == Status.RETITRATION_REQUIRED  # nothing was written
    restart = prescribe(
        cast,
        person,
        slot_doses={"AM": "150", "PM": "100"},
        clinical_reason="Two missed sessions only; used on top elsewhere",
    )
    assert restart.caution.startswith("AM restarts at 150 mg")
    person.refresh_from_db()
    assert person.status == Status.RETITRATION
    # Later steps rise by the titration step: at most 50%.
    refused(
        "titration_rise_above_limit",
        prescribe,
        cast=cast,
        person=person,
        when=T + dt.timedelta(days=1),
        slot_doses={"AM": "150", "PM": "160"},
    )


def test_a_restart_at_half_needs_no_reason(cast):
    person = lapsed(on(cast))
    restart = prescribe(cast, person, slot_doses={"AM": "100", "PM": "100"})
    assert (restart.caution, restart.clinical_reason) == ("", "")


def test_a_review_passes_the_clinical_reason_to_the_version_it_issues(cast):
    person = on(cast, am="100", pm="100")
    refused(
        "clinical_reason_required",
        review_record,
        service_user=person,
        prescriber=cast.prescriber,
        decision="increase",
        notes="Using on top",
        slot_doses={"AM": "180", "PM": "100"},
        now=T,
    )
    review = review_record(
        service_user=person,
        prescriber=cast.prescriber,
        decision="increase",
        notes="Using on top",
        slot_doses={"AM": "180", "PM": "100"},
        clinical_reason="Craving all afternoon",
        now=T,
    )
    assert review.prescription.caution.startswith("AM rises from 100 mg to 180 mg")


# Through the API and the pages.


def test_the_api_refuses_and_records_the_clinical_reason(cast):
    person = lapsed(on(cast))
    client = cast.client("prescriber")
    body = {"service_user": person.pk, "slot_doses": {"AM": "300"}, "reason": "Restart"}
    with time_machine.travel(T, tick=False):
        above = client.post("/api/v1/prescriptions/", body, content_type="application/json")
        body["slot_doses"] = {"AM": "150", "PM": "100"}
        unreasoned = client.post("/api/v1/prescriptions/", body, content_type="application/json")
        body["clinical_reason"] = "Two sessions missed only"
        issued = client.post("/api/v1/prescriptions/", body, content_type="application/json")
    assert above.status_code == 400 and above.json()["code"] == "retitration_above_prelapse"
    assert unreasoned.status_code == 400
    assert unreasoned.json()["code"] == "clinical_reason_required"
    assert issued.status_code == 201, issued.json()
    assert issued.json()["clinical_reason"] == "Two sessions missed only"
    assert issued.json()["caution"].startswith("AM restarts at 150 mg")


def test_the_page_asks_for_the_reason_keeps_what_was_typed_and_the_review_shows_the_caution(
    cast,
):
    person = on(cast, am="100", pm="100")
    client = cast.client("prescriber")
    url = f"/service-users/{person.pk}/prescriptions/new/"
    with time_machine.travel(T, tick=False):
        data = form_data(
            client.get(url).content.decode(), **{"class": "bg-white p-3 border rounded max-w-48rem"}
        )
        data.update({"dose_AM": "160", "dose_PM": "100", "reason": "Increase"})
        refused_page = client.post(url, data)
        page = refused_page.content.decode()
        assert refused_page.status_code in (200, 400)
        assert "AM rises from 100 mg to 160 mg within 7 days" in page
        assert 'value="160"' in page
        data["clinical_reason"] = "Using on top every afternoon"
        assert client.post(url, data).status_code == 302
        review = client.get(f"/service-users/{person.pk}/review/").content.decode()
    assert 'data-testid="prescription-caution"' in review
    assert "AM rises from 100 mg to 160 mg" in review
    assert "Using on top every afternoon" in review
