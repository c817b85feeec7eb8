import pytest

from eligibility.models import Status
from tests.browser.navigation import log_in
from tests.factories import TRANSFER, make_service_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_prescriber_is_refused_above_15_mg_then_prescribes(page, live_server, cast):
    person = make_service_user(
        cast.clinic_a,
        Status.TITRATION,
        by=cast.prescriber,
        given_name="Robin",
        family_name="Starter",
    )
    log_in(page, live_server, cast.prescriber.username)

    page.goto(f"{live_server.url}/service-users/{person.pk}/")
    page.get_by_role("link", name="Prescriptions").click()
    assert "No prescription is in force" in page.locator("main").inner_text()
    page.get_by_role("link", name="New prescription version").click()
    page.get_by_label("AM dose (mg)").fill("20")
    page.get_by_label("PM dose (mg)").fill("15")
    page.get_by_label("Reason", exact=True).fill("Induction")
    page.get_by_role("button", name="Issue prescription").click()
    refusal = page.get_by_role("alert").filter(has_text="at most 15 mg")
    assert "AM asks for 20 mg" in refusal.inner_text()

    page.get_by_label("AM dose (mg)").fill("15")
    page.get_by_role("button", name="Issue prescription").click()
    assert "Prescription version 1 issued" in page.get_by_role("alert").first.inner_text()
    in_force = page.get_by_test_id("in-force").inner_text()
    assert "AM 15.00 mg" in in_force and "PM 15.00 mg" in in_force


def test_a_rise_above_the_step_asks_for_a_clinical_reason_and_the_review_shows_it(
    page, live_server, cast
):
    import datetime as dt

    from dosing.prescribing import prescription_issue

    person = make_service_user(
        cast.clinic_a,
        Status.MAINTENANCE,
        by=cast.prescriber,
        given_name="Sam",
        family_name="Stable",
    )
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "100", "PM": "100"},
        **TRANSFER,
        reason="Transfer",
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
    )
    log_in(page, live_server, cast.prescriber.username)
    page.goto(f"{live_server.url}/service-users/{person.pk}/prescriptions/new/")
    page.get_by_label("AM dose (mg)").fill("450")
    page.get_by_label("PM dose (mg)").fill("100")
    page.get_by_label("Reason", exact=True).fill("Using on top")
    page.get_by_role("button", name="Issue prescription").click()
    assert "the most allowed is 400 mg" in page.get_by_role("alert").first.inner_text()
    assert page.get_by_label("AM dose (mg)").input_value() == "450"

    page.get_by_label("AM dose (mg)").fill("160")
    page.get_by_role("button", name="Issue prescription").click()
    refusal = page.get_by_role("alert").filter(has_text="clinical reason")
    assert "AM rises from 100 mg to 160 mg within 7 days" in refusal.inner_text()
    # What was typed is kept.
    assert page.get_by_label("AM dose (mg)").input_value() == "160"
    assert page.get_by_label("Reason", exact=True).input_value() == "Using on top"

    page.get_by_label("Clinical reason for a dose above a limit").fill("Craving every afternoon")
    page.get_by_role("button", name="Issue prescription").click()
    assert "Prescription version 2 issued" in page.get_by_role("alert").first.inner_text()

    page.goto(f"{live_server.url}/service-users/{person.pk}/review/")
    caution = page.get_by_test_id("prescription-caution").inner_text()
    assert "AM rises from 100 mg to 160 mg" in caution
    assert "Craving every afternoon" in caution


def test_a_documented_transfer_records_its_evidence(page, live_server, cast):
    person = make_service_user(
        cast.clinic_a,
        Status.TITRATION,
        by=cast.prescriber,
        given_name="Alex",
        family_name="Transfer",
    )
    log_in(page, live_server, cast.prescriber.username)
    page.goto(f"{live_server.url}/service-users/{person.pk}/prescriptions/new/")
    page.get_by_label("AM dose (mg)").fill("60")
    page.get_by_label("PM dose (mg)").fill("60")
    page.get_by_label("Documented transfer on an established dose").check()
    page.get_by_label("Transferring from (service)").fill("Leeds HAT service")
    page.get_by_label("Reason", exact=True).fill("Moved from Leeds")
    page.get_by_role("button", name="Issue prescription").click()
    refusal = page.get_by_role("alert").filter(has_text="records its evidence")
    assert "the last dose there (mg), the day of that dose, who confirmed it" in (
        refusal.inner_text()
    )
    # What was typed is kept.
    assert page.get_by_label("AM dose (mg)").input_value() == "60"
    assert page.get_by_label("Documented transfer on an established dose").is_checked()
    assert page.get_by_label("Transferring from (service)").input_value() == "Leeds HAT service"

    page.get_by_label("Last dose there (mg)").fill("60")
    page.get_by_label("Day of that dose").fill("2026-01-01")
    page.get_by_label("Confirmed by").fill("Dr Khan, Leeds, by phone")
    page.get_by_role("button", name="Issue prescription").click()
    assert "Prescription version 1 issued" in page.get_by_role("alert").first.inner_text()
    listed = page.locator("main").inner_text()
    assert "documented transfer from Leeds HAT service: last dose 60.00 mg on 1 Jan 2026" in listed
    assert "confirmed by Dr Khan, Leeds, by phone" in listed


def test_a_review_that_raises_a_dose_above_the_step_asks_for_the_reason_and_keeps_the_form(
    page, live_server, cast
):
    import datetime as dt

    from dosing.prescribing import prescription_issue

    person = make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, given_name="Kim", family_name="Rise"
    )
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "100", "PM": "100"},
        reason="Transfer",
        now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
        **TRANSFER,
    )
    log_in(page, live_server, cast.prescriber.username)
    page.goto(f"{live_server.url}/service-users/{person.pk}/review/")
    page.get_by_label("Increase").check()
    page.get_by_label("Notes").fill("Using on top in the afternoons")
    page.get_by_label("New AM dose (mg)").fill("180")
    page.get_by_label("New PM dose (mg)").fill("100")
    page.get_by_role("button", name="Record review").click()
    refusal = page.get_by_role("alert").filter(has_text="clinical reason")
    assert "AM rises from 100 mg to 180 mg within 7 days" in refusal.inner_text()
    # What was typed is kept.
    assert page.get_by_label("Increase").is_checked()
    assert page.get_by_label("Notes").input_value() == "Using on top in the afternoons"
    assert page.get_by_label("New AM dose (mg)").input_value() == "180"

    page.get_by_label("Clinical reason for a dose above a limit").fill("Craving every afternoon")
    page.get_by_role("button", name="Record review").click()
    assert "Prescription version 2 issued" in page.get_by_role("alert").first.inner_text()
