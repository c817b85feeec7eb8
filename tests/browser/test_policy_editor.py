"""The policy editor in Chromium (issue 18.3): a manager adds an evening slot and the
breath thresholds as a new version from a stated time, after a refusal that keeps
everything typed; a missed-dose threshold below 2 is refused beside its field, and a
start in the hour the clocks skip beside the From field; and a nurse never reaches
the editor. The same through Django's test client is in
tests/eligibility/test_policy_views.py."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from eligibility.models import ClinicPolicy
from eligibility.selectors import policy_in_force
from tests.browser.navigation import log_in, nav_click, opened_navigation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)  # a Monday, in GMT
A_WEEK_AHEAD = "2026-03-09T09:00"  # as the datetime-local input holds it
REASON = "Evening slot for people in work"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def open_the_editor(page, live_server, cast):
    log_in(page, live_server, cast.manager.username)
    nav_click(page, "Clinic policy")
    expect(page.get_by_role("heading", name="Clinic policy")).to_be_visible()
    page.get_by_role("link", name="Change the policy").click()
    expect(page.get_by_role("heading", name="Change the clinic policy: Clinic A")).to_be_visible()


def field(page, label: str):
    return page.get_by_label(label, exact=True)


def save(page):
    page.get_by_role("button", name="Save the new version").click()


def test_a_manager_adds_an_evening_slot_and_breath_thresholds_after_an_overlap_is_refused(
    clock, page, live_server, cast
):
    open_the_editor(page, live_server, cast)
    # The form starts from the version in force: two slots, no breath thresholds.
    expect(field(page, "Slot 1: code")).to_have_value("AM")
    expect(field(page, "Slot 2: code")).to_have_value("PM")
    expect(field(page, "Slot 2: closes")).to_have_value("17:30")
    expect(field(page, "Slot 3: code")).to_have_value("")
    expect(field(page, "Capacity (places)")).to_have_value("15")

    typed = {
        "From": A_WEEK_AHEAD,
        "Reason": REASON,
        "Slot 3: code": "EVE",
        "Slot 3: opens": "17:00",  # while PM is open until 17:30
        "Slot 3: closes": "21:00",
        "Breath alcohol: caution at (µg/100 ml)": "10",
        "Breath alcohol: withhold at (µg/100 ml)": "20",
    }
    for label, value in typed.items():
        field(page, label).fill(value)
    save(page)

    expect(page.get_by_role("alert").filter(has_text="overlap")).to_contain_text(
        "Slots PM and EVE overlap: PM closes at 17:30 but EVE opens at 17:00."
    )
    for label, value in typed.items():
        expect(field(page, label)).to_have_value(value)
    # The slots in force, not typed over, are as they were.
    expect(field(page, "Slot 1: code")).to_have_value("AM")
    expect(field(page, "Slot 2: opens")).to_have_value("13:00")
    expect(field(page, "Slot 2: closes")).to_have_value("17:30")
    assert ClinicPolicy.objects.filter(clinic=cast.clinic_a).count() == 1

    field(page, "Slot 3: opens").fill("19:00")
    save(page)

    expect(page.get_by_role("heading", name="Clinic policy")).to_be_visible()
    expect(
        page.get_by_role("alert").filter(has_text="The new policy applies from 09 Mar 2026 09:00.")
    ).to_be_visible()
    cards = page.locator(".card")
    coming = cards.filter(has=page.get_by_test_id("next"))
    expect(coming).to_have_count(1)
    expect(coming).to_contain_text("From 9 Mar 2026 09:00")
    expect(coming).to_contain_text(REASON)
    expect(coming).to_contain_text("AM 08:00-11:30, PM 13:00-17:30, EVE 19:00-21:00")
    expect(coming).to_contain_text("10.0 / 20.0 µg/100 ml")
    in_force = cards.filter(has=page.get_by_test_id("in-force"))
    expect(in_force).to_have_count(1)
    expect(in_force).to_contain_text("Opening policy")
    expect(in_force).not_to_contain_text("EVE")
    expect(in_force).to_contain_text("Not set: alcohol-flagged service users cannot be dosed")

    # Today is still under the opening policy; the new one starts at the time given.
    assert [s.code for s in policy_in_force(clinic=cast.clinic_a).slots.all()] == ["AM", "PM"]
    from_then = policy_in_force(clinic=cast.clinic_a, at=dt.datetime(2026, 3, 9, 9, tzinfo=LONDON))
    assert [s.code for s in from_then.slots.all()] == ["AM", "PM", "EVE"]
    assert from_then.created_by == cast.manager


def test_a_missed_dose_threshold_below_two_is_refused_beside_its_field(
    clock, page, live_server, cast
):
    open_the_editor(page, live_server, cast)
    typed = {
        "From": A_WEEK_AHEAD,
        "Reason": "Act on the first missed session",
        "Missed-dose warning after (consecutive sessions)": "1",
        "Re-titration after (consecutive sessions)": "1",
        "Capacity (places)": "18",
    }
    for label, value in typed.items():
        field(page, label).fill(value)
    save(page)

    expect(page.locator('[data-error-for="missed_warning_threshold"]')).to_have_text(
        "The missed-dose warning threshold is 1; it must be at least 2 consecutive sessions "
        "not taken, or a single missed session would count as a pattern."
    )
    expect(field(page, "Missed-dose warning after (consecutive sessions)")).to_have_attribute(
        "aria-invalid", "true"
    )
    for label, value in typed.items():
        expect(field(page, label)).to_have_value(value)
    expect(field(page, "Slot 2: code")).to_have_value("PM")
    assert ClinicPolicy.objects.filter(clinic=cast.clinic_a).count() == 1


def test_a_start_in_the_hour_the_clocks_skip_is_refused_saying_so(clock, page, live_server, cast):
    """29 March 2026: the UK clocks go from 01:00 to 02:00. A version from 01:30 that
    night would start at no time at all."""
    open_the_editor(page, live_server, cast)
    field(page, "From").fill("2026-03-29T01:30")
    field(page, "Reason").fill("Start with the summer hours")
    field(page, "Capacity (places)").fill("16")
    save(page)

    expect(page.locator('[data-error-for="effective_from"]')).to_have_text(
        "There is no 01:30 on 29 Mar 2026 in the clinic's time: the clocks go forward from "
        "01:00 to 02:00 that night. Give a time before 01:00 or from 02:00."
    )
    expect(field(page, "From")).to_have_value("2026-03-29T01:30")
    expect(field(page, "Capacity (places)")).to_have_value("16")
    assert ClinicPolicy.objects.filter(clinic=cast.clinic_a).count() == 1

    field(page, "From").fill("2026-03-29T02:00")
    save(page)
    expect(
        page.get_by_role("alert").filter(has_text="The new policy applies from 29 Mar 2026 02:00.")
    ).to_be_visible()


def test_a_nurse_has_no_way_to_the_policy_or_its_editor(clock, page, live_server, cast):
    log_in(page, live_server, cast.nurse.username)
    navigation = opened_navigation(page)
    expect(navigation.get_by_role("link", name="Dosing room")).to_be_visible()
    expect(navigation.get_by_role("link", name="Clinic policy")).to_have_count(0)
    # The policy page is the managers' own, and so is the editor.
    assert page.goto(f"{live_server.url}/clinic/policy/").status == 403
    assert page.goto(f"{live_server.url}/clinic/policy/new/").status == 403
    expect(page.get_by_role("button", name="Save the new version")).to_have_count(0)
    expect(page.get_by_label("Slot 1: code")).to_have_count(0)
