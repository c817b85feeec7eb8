"""Refusals in Chromium on a prescriber's pages for a service user in treatment: the
overnight methadone prescription, an exit plan, and recording an exit. Each refusal
is shown beside the field at fault, everything typed is still in the form, and the
corrected form is saved."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from dosing.prescribing import pharmacy_add, prescription_issue
from eligibility.models import Status
from tests.browser.navigation import log_in, nav_click
from tests.factories import TRANSFER, make_service_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # as a datetime-local input holds it


def _told(page, text: str):
    """The message shown at the top of the page after a save."""
    return page.get_by_role("alert").filter(has_text=text)


def _in_treatment(cast, given_name, family_name, *, prescribed=False):
    person = make_service_user(
        cast.clinic_a,
        Status.MAINTENANCE,
        by=cast.prescriber,
        given_name=given_name,
        family_name=family_name,
    )
    if prescribed:
        prescription_issue(
            service_user=person,
            prescriber=cast.prescriber,
            slot_doses={"AM": "100", "PM": "100"},
            reason="Transfer",
            now=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
            **TRANSFER,
        )
    return person


def _open_service_user(page, person):
    nav_click(page, "Service users")
    page.get_by_role("link", name=person.display_name).click()
    expect(page.get_by_role("heading", name=person.display_name)).to_be_visible()


def _open_prescriptions(page, person):
    _open_service_user(page, person)
    page.get_by_role("link", name="Prescriptions").click()
    expect(
        page.get_by_role("heading", name=f"Prescriptions: {person.display_name}")
    ).to_be_visible()


def test_a_methadone_prescription_ending_before_it_starts_or_with_a_dose_in_words_is_refused(
    page, live_server, cast
):
    pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    person = _in_treatment(cast, "Morgan", "Nights")
    clinic_now = dt.datetime.now(cast.clinic_a.zone)
    two_days_ago = (clinic_now - dt.timedelta(days=2)).replace(hour=18, minute=0)
    in_a_month = (clinic_now + dt.timedelta(days=30)).replace(hour=18, minute=0)
    log_in(page, live_server, cast.prescriber.username)
    _open_prescriptions(page, person)
    page.get_by_role("link", name="Prescribe methadone").click()
    expect(page.get_by_role("heading", name="Overnight methadone")).to_be_visible()

    dose = page.get_by_label("Nightly dose (mg)")
    pharmacy = page.get_by_label("Pharmacy")
    ends = page.get_by_label("Ends", exact=True)
    reason = page.get_by_label("Reason", exact=True)
    dose.fill("sixty")
    pharmacy.select_option(label="High St Pharmacy")
    ends.fill(two_days_ago.strftime(LOCAL_MINUTE))
    reason.fill("Uses on top at night")
    page.get_by_role("button", name="Issue methadone prescription").click()

    expect(page.locator('[data-error-for="valid_to"]')).to_contain_text(
        "The prescription must end after it starts"
    )

    def as_typed(ends_at):
        expect(dose).to_have_value("sixty")
        expect(pharmacy.locator("option:checked")).to_have_text("High St Pharmacy")
        expect(ends).to_have_value(ends_at.strftime(LOCAL_MINUTE))
        expect(reason).to_have_value("Uses on top at night")

    as_typed(two_days_ago)

    ends.fill(in_a_month.strftime(LOCAL_MINUTE))
    page.get_by_role("button", name="Issue methadone prescription").click()
    expect(page.locator('[data-error-for="nightly_dose_mg"]')).to_contain_text(
        "'sixty' is not a number of milligrams."
    )
    expect(page.locator('[data-error-for="valid_to"]')).to_have_count(0)
    as_typed(in_a_month)

    dose.fill("60")
    page.get_by_role("button", name="Issue methadone prescription").click()
    expect(
        _told(page, "Methadone version 1 issued: 60 mg nightly from High St Pharmacy.")
    ).to_be_visible()
    expect(page.get_by_test_id("methadone")).to_have_text(
        "60.00 mg nightly, collected daily from High St Pharmacy (version 1)"
    )


def test_an_exit_plan_switching_before_it_starts_is_refused_and_the_plan_typed_stays(
    page, live_server, cast
):
    person = _in_treatment(cast, "Robin", "Leaving", prescribed=True)
    clinic_now = dt.datetime.now(cast.clinic_a.zone)
    starts = (clinic_now + dt.timedelta(days=7)).replace(hour=9, minute=0)
    switch = (clinic_now + dt.timedelta(days=3)).replace(hour=9, minute=0)
    log_in(page, live_server, cast.prescriber.username)
    _open_prescriptions(page, person)
    page.get_by_role("link", name="New exit plan").click()
    expect(page.get_by_role("heading", name=f"Exit plan: {person.display_name}")).to_be_visible()

    reduction = page.get_by_label("Weekly reduction (% of today's dose)")
    first = page.get_by_label("First reduction")
    switch_at = page.get_by_label("Switch or end date")
    reason = page.get_by_label("Reason", exact=True)
    reduction.fill("25")
    first.fill(starts.strftime(LOCAL_MINUTE))
    switch_at.fill(switch.strftime(LOCAL_MINUTE))
    reason.fill("Wants to leave treatment by the spring")
    page.get_by_role("button", name="Start exit plan").click()

    expect(page.locator('[data-error-for="switch_at"]')).to_contain_text(
        "The switch date must come after the plan starts."
    )
    expect(reduction).to_have_value("25")
    expect(first).to_have_value(starts.strftime(LOCAL_MINUTE))
    expect(switch_at).to_have_value(switch.strftime(LOCAL_MINUTE))
    expect(reason).to_have_value("Wants to leave treatment by the spring")

    switch_at.fill("")  # reduce to zero instead: 75, 50 and 25 mg
    page.get_by_role("button", name="Start exit plan").click()
    expect(_told(page, "Exit plan active: 3 future versions issued.")).to_be_visible()
    plan = page.get_by_test_id("plan")
    expect(plan).to_contain_text("Active")
    expect(plan).to_contain_text(
        f"-25.00% a week from {starts.day} {starts:%b %Y} to zero · "
        "Wants to leave treatment by the spring"
    )


def test_an_exit_whose_reason_does_not_fit_its_kind_is_refused_and_what_was_typed_stays(
    page, live_server, cast
):
    person = _in_treatment(cast, "Sam", "Moving")
    today = cast.clinic_a.clinic_day_of(dt.datetime.now(dt.UTC))
    log_in(page, live_server, cast.prescriber.username)
    _open_service_user(page, person)
    page.get_by_role("link", name="Record exit").click()
    expect(page.get_by_role("heading", name=f"Exit: {person.display_name}")).to_be_visible()

    detail = page.get_by_label("Detail")
    exit_date = page.get_by_label("Exit date")
    reason = page.get_by_label("Reason", exact=True)
    page.get_by_label("Planned", exact=True).check()
    detail.select_option(label="Disengaged")
    exit_date.fill(today.isoformat())
    reason.fill("Moving to a residential rehab in Leeds")
    page.get_by_role("button", name="Record exit").click()

    expect(page.locator('[data-error-for="detail"]')).to_contain_text(
        "A planned exit is one of: taper completed, transfer to oral treatment, "
        "transfer to residential rehab."
    )
    expect(page.get_by_label("Planned", exact=True)).to_be_checked()
    expect(detail.locator("option:checked")).to_have_text("Disengaged")
    expect(exit_date).to_have_value(today.isoformat())
    expect(reason).to_have_value("Moving to a residential rehab in Leeds")

    detail.select_option(label="Transfer to residential rehab")
    page.get_by_role("button", name="Record exit").click()
    expect(page).to_have_url(re.compile(rf"/service-users/{person.pk}/$"))
    expect(
        _told(page, f"Exit of {person.display_name} recorded; the place is free.")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        f"Planned exit on {today.day} {today:%b %Y} (transfer to residential rehab): "
        "Moving to a residential rehab in Leeds"
    )
    expect(page.locator("main")).to_contain_text(Status.EXITED.label)
