"""Guest dosing in Chromium (issue 19.5): the home prescriber authorises a stay at
clinic B after a refusal that keeps what was typed; clinic B's manager accepts it;
clinic B's board shows the guest with the home prescription's dose, and clinic A's
board says where they are; a manager of the home clinic is refused the host's
acceptance. The same through the API is tests/dosing/test_guest_stay_api.py."""

import datetime as dt

import pytest
import time_machine
from playwright.sync_api import expect

from dosing.guest import guest_stay_authorise
from tests.browser.navigation import log_in, nav_click
from tests.browser.page_parts import error_beside, field, told
from tests.dosing.guest_setup import EVE, NEXT, at, host_staff
from tests.dosing.room_setup import DAY, on_prescription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stay_authorised_at_home_accepted_by_the_host_and_on_both_boards(page, live_server, cast):
    host = host_staff(cast)
    person = on_prescription(cast, given_name="Robin", family_name="Hart")
    with time_machine.travel(EVE, tick=True) as clock:
        log_in(page, live_server, cast.prescriber.username)
        page.goto(f"{live_server.url}/service-users/{person.pk}/")
        page.get_by_role("link", name="Guest stays").click()
        expect(page.get_by_role("heading", name="Guest stays: Robin Hart")).to_be_visible()
        too_long = DAY + dt.timedelta(days=30)
        field(page, "Clinic to be dosed at").select_option(label="Clinic B")
        field(page, "First day there").fill(str(DAY))
        field(page, "Last day there").fill(str(too_long))
        field(page, "Why they are away").fill("Visiting family in Leeds")
        page.get_by_role("button", name="Authorise the stay").click()
        expect(error_beside(page, "last_day")).to_contain_text("at most 28 days")
        expect(field(page, "Clinic to be dosed at")).to_have_value(str(cast.clinic_b.pk))
        expect(field(page, "First day there")).to_have_value(str(DAY))
        expect(field(page, "Last day there")).to_have_value(str(too_long))
        expect(field(page, "Why they are away")).to_have_value("Visiting family in Leeds")
        field(page, "Last day there").fill(str(NEXT))
        page.get_by_role("button", name="Authorise the stay").click()
        expect(told(page, "Guest stay at Clinic B authorised")).to_be_visible()
        row = page.get_by_test_id("guest-stays").locator("tbody tr").first
        expect(row.get_by_test_id("stay-state")).to_contain_text("Awaiting the host")

        # The home clinic's manager sees the stay, and cannot accept it for the host.
        nav_click(page, "Log out")
        log_in(page, live_server, cast.manager.username)
        nav_click(page, "Dosing room")
        page.get_by_role("link", name="Guest stays").click()
        away = page.get_by_test_id("guests-away")
        expect(away).to_contain_text("Robin")
        expect(away.get_by_role("link", name="Accept")).to_have_count(0)

        nav_click(page, "Log out")
        log_in(page, live_server, host["manager"].username)
        nav_click(page, "Dosing room")
        page.get_by_role("link", name="Guest stays").click()
        coming = page.get_by_test_id("guests-coming")
        expect(coming).to_contain_text("from Clinic A")
        coming.get_by_role("link", name="Accept").click()
        expect(page.get_by_role("heading", name="Accept a guest stay: Robin")).to_be_visible()
        field(page, "Note for the home clinic").fill("Ask for Sam at the desk")
        page.get_by_role("button", name="Accept the stay").click()
        expect(told(page, "Accepted: Robin Hart is on this clinic's board")).to_be_visible()
        expect(page.get_by_test_id("guests-coming").get_by_test_id("stay-state")).to_contain_text(
            "Accepted"
        )

        clock.move_to(at(DAY, 9))
        nav_click(page, "Log out")
        log_in(page, live_server, cast.nurse_b.username)
        nav_click(page, "Dosing room")
        guest_row = page.locator("tr", has=page.get_by_test_id("guest-here"))
        expect(guest_row).to_contain_text("Robin")
        expect(guest_row.get_by_test_id("guest-here")).to_contain_text("from Clinic A")
        expect(guest_row).to_contain_text("60.00 mg")

        nav_click(page, "Log out")
        log_in(page, live_server, cast.nurse.username)
        nav_click(page, "Dosing room")
        expect(page.get_by_test_id("guest-away")).to_contain_text("Guest at Clinic B")
        expect(page.get_by_test_id("board-summary")).to_contain_text("1 guest at another clinic")


def test_the_host_declines_a_stay_after_a_refusal_without_a_reason(page, live_server, cast):
    host = host_staff(cast)
    person = on_prescription(cast, given_name="Robin", family_name="Hart")
    with time_machine.travel(EVE, tick=True):
        guest_stay_authorise(
            service_user=person,
            prescriber=cast.prescriber,
            host_clinic=cast.clinic_b,
            first_day=DAY,
            last_day=NEXT,
            reason="Visiting family",
            now=EVE,
        )
        log_in(page, live_server, host["manager"].username)
        nav_click(page, "Dosing room")
        page.get_by_role("link", name="Guest stays").click()
        page.get_by_test_id("guests-coming").get_by_role("link", name="Decline").click()
        expect(page.get_by_role("heading", name="End a guest stay: Robin Hart")).to_be_visible()
        page.get_by_role("button", name="End the stay").click()
        expect(error_beside(page, "reason")).to_be_visible()
        field(page, "Why").fill("No room that week")
        page.get_by_role("button", name="End the stay").click()
        expect(told(page, "The stay at Clinic B is ended")).to_be_visible()
        state = page.get_by_test_id("guests-coming").get_by_test_id("stay-state")
        expect(state).to_contain_text("No room that week")
