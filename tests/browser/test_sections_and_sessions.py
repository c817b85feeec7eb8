"""Register sections and unscheduled sessions in Chromium (issues 18.4 and 18.7).

A manager opens a register section on the CD register page after the same strength
again and a second dose-supply section are each refused beside their field, with what
was typed kept; a nurse on that page has no form to open one. A prescriber adds a
session for today from a service user's page between the AM and PM windows, after a
refusal for want of a reason that keeps the slot picked, lands on the session's page,
and the nurse finds the session on the dosing room board; after the clinic's hours the
same form is refused as a whole, the reason kept; and a nurse has no link to it. The
same through the services and Django's test client is in
tests/dosing/test_register_sections.py and tests/dosing/test_unscheduled_sessions.py."""

import datetime as dt
import re

import pytest
import time_machine
from playwright.sync_api import expect

from dosing.models import DoseSession, RegisterSection, SessionStatus
from eligibility.models import Status
from tests.browser.navigation import log_in, nav_click
from tests.browser.page_parts import error_beside, field, told
from tests.monitoring.scan_setup import london, people_on_prescription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A Tuesday: the AM window is 08:00-11:30 and the PM one 13:00-17:30, London time.
DAY = dt.date(2026, 3, 3)
NOON = london(DAY, 12, 0)
EVENING = london(DAY, 18, 0)

STRENGTH = "Strength (mg per ampoule)"
SUPPLIES = "Supplies the doses given in the dosing room"


@pytest.fixture
def clock():
    """The server's clock at 12:00 on DAY, between the two windows, running."""
    with time_machine.travel(NOON, tick=True) as traveller:
        yield traveller


@pytest.fixture
def admitted_this_morning(cast):
    """In titration on an AM and PM prescription since before DAY, with no session
    today: the schedule ran before they were admitted."""
    return people_on_prescription(cast, 1, status=Status.TITRATION)[0]


def _open_register(page):
    nav_click(page, "CD register")
    expect(page.get_by_role("heading", name="Controlled drugs register")).to_be_visible()


def _section_row(page, name: str):
    return page.get_by_test_id("register-balances").get_by_role("row").filter(has_text=name)


def _open_person(page, person):
    nav_click(page, "Service users")
    page.get_by_role("link", name=person.display_name).click()
    expect(page.get_by_role("heading", name="Suspension and exit")).to_be_visible()


def _open_session_form(page, person):
    _open_person(page, person)
    page.get_by_role("link", name="Add a session for today").click()
    expect(
        page.get_by_role("heading", name=f"A session for today: {person.display_name}")
    ).to_be_visible()


def test_a_manager_opens_sections_after_a_strength_twice_and_a_second_supplier_are_refused(
    page, live_server, cast
):
    log_in(page, live_server, cast.manager.username)
    _open_register(page)
    expect(page.get_by_role("heading", name="Open a section")).to_be_visible()
    expect(field(page, "Form")).to_have_value("ampoule")
    expect(field(page, SUPPLIES)).not_to_be_checked()

    field(page, STRENGTH).fill("100")
    field(page, SUPPLIES).check()
    page.get_by_role("button", name="Open the section").click()

    hundred = "Diamorphine hydrochloride 100 mg ampoule"
    expect(told(page, f"The register has a section for {hundred}.")).to_be_visible()
    expect(page.locator("[data-error-for]")).to_have_count(0)
    expect(_section_row(page, hundred).get_by_role("cell")).to_have_text(
        [hundred, "0 ampoules (0 mg)", "Yes"]
    )
    first = RegisterSection.objects.get(clinic=cast.clinic_a)
    assert (first.strength_mg, first.form, first.supplies_doses) == (100, "ampoule", True)

    # The same strength again: "Ampoule" is the same form, whatever its capitals.
    field(page, STRENGTH).fill("100")
    field(page, "Form").fill("Ampoule")
    page.get_by_role("button", name="Open the section").click()

    expect(error_beside(page, "strength_mg")).to_have_text(
        f"The register already has a section for {hundred}."
    )
    expect(field(page, STRENGTH)).to_have_attribute("aria-invalid", "true")
    expect(field(page, STRENGTH)).to_have_value("100")
    expect(field(page, "Form")).to_have_value("Ampoule")
    expect(field(page, SUPPLIES)).not_to_be_checked()
    assert RegisterSection.objects.filter(clinic=cast.clinic_a).count() == 1

    # A second section that supplies the doses.
    field(page, STRENGTH).fill("500")
    field(page, "Form").fill("ampoule")
    field(page, SUPPLIES).check()
    page.get_by_role("button", name="Open the section").click()

    expect(error_beside(page, "supplies_doses")).to_have_text(
        f"{hundred} supplies the doses already: only one section does. Open this one without it."
    )
    expect(error_beside(page, "strength_mg")).to_have_count(0)
    expect(field(page, SUPPLIES)).to_be_checked()
    expect(field(page, STRENGTH)).to_have_value("500")
    expect(field(page, "Form")).to_have_value("ampoule")
    assert RegisterSection.objects.filter(clinic=cast.clinic_a).count() == 1

    field(page, SUPPLIES).uncheck()
    page.get_by_role("button", name="Open the section").click()

    five_hundred = "Diamorphine hydrochloride 500 mg ampoule"
    expect(told(page, f"The register has a section for {five_hundred}.")).to_be_visible()
    expect(page.locator("[data-error-for]")).to_have_count(0)
    expect(_section_row(page, five_hundred).get_by_role("cell")).to_have_text(
        [five_hundred, "0 ampoules (0 mg)", "—"]
    )
    expect(_section_row(page, hundred).get_by_role("cell")).to_have_text(
        [hundred, "0 ampoules (0 mg)", "Yes"]
    )
    expect(page.get_by_test_id("register-balances").locator("tbody tr")).to_have_count(2)
    second = RegisterSection.objects.get(clinic=cast.clinic_a, strength_mg=500)
    assert (second.form, second.supplies_doses) == ("ampoule", False)


def test_a_nurse_sees_the_register_with_no_form_to_open_a_section(page, live_server, cast):
    log_in(page, live_server, cast.nurse.username)
    _open_register(page)

    expect(page.get_by_test_id("register-balances")).to_contain_text("No register sections yet.")
    expect(page.get_by_test_id("register-balances")).not_to_contain_text("Open one below")
    expect(page.get_by_role("heading", name="Open a section")).to_have_count(0)
    expect(page.get_by_label(STRENGTH)).to_have_count(0)
    expect(page.get_by_role("button", name="Open the section")).to_have_count(0)


def test_a_prescriber_adds_a_session_for_today_that_the_dosing_room_then_lists(
    page, live_server, cast, clock, admitted_this_morning
):
    person = admitted_this_morning
    log_in(page, live_server, cast.prescriber.username)
    _open_session_form(page, person)
    # The slot's radios, each named by its label (not yet a fieldset with its legend).
    slots = page.locator("form").filter(
        has=page.get_by_role("button", name="Open the session now", exact=True)
    )
    expect(slots.get_by_role("radio")).to_have_count(2)
    expect(slots.get_by_role("radio", name="AM")).to_be_checked()

    slots.get_by_role("radio", name="PM").check()
    page.get_by_role("button", name="Open the session now").click()

    expect(error_beside(page, "reason")).to_be_visible()
    expect(field(page, "Reason")).to_have_attribute("aria-invalid", "true")
    expect(slots.get_by_role("radio", name="PM")).to_be_checked()
    expect(slots.get_by_role("radio", name="AM")).not_to_be_checked()
    assert not DoseSession.objects.filter(service_user=person).exists()

    slots.get_by_role("radio", name="AM").check()
    field(page, "Reason").fill("Admitted this morning, after the schedule ran")
    page.get_by_role("button", name="Open the session now").click()

    session = DoseSession.objects.get(service_user=person)
    expect(page).to_have_url(re.compile(rf"/dosing/sessions/{session.pk}/$"))
    expect(
        told(page, f"{person.display_name}'s AM session is open now, until 17:30.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name=person.display_name, exact=True)).to_be_visible()
    expect(page.get_by_text("AM · Tue 3 Mar · 12:00\N{EN DASH}17:30")).to_be_visible()
    assert (session.slot_code, session.clinic_day, session.status, session.added_by) == (
        "AM",
        DAY,
        SessionStatus.SCHEDULED,
        cast.prescriber,
    )
    assert session.history.get().history_change_reason == (
        "Unscheduled session: Admitted this morning, after the schedule ran"
    )

    # The nurse finds the session on the dosing room board under its slot: at 12:00 the
    # board opens on the next window, PM, so the nurse asks for AM.
    nav_click(page, "Log out")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    log_in(page, live_server, cast.nurse.username)
    nav_click(page, "Dosing room")
    choose = page.get_by_role("form", name="Choose day and slot")
    choose.get_by_label("Slot").fill("AM")
    choose.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Dosing room · .* · AM$"))).to_be_visible()
    row = page.locator(f'#board tr[data-session="{session.pk}"]')
    expect(row).to_contain_text(person.display_name)
    expect(row).to_contain_text("60.00 mg")
    expect(row).to_have_attribute("data-status", SessionStatus.SCHEDULED)
    row.get_by_role("link", name="Open").click()
    expect(page).to_have_url(re.compile(rf"/dosing/sessions/{session.pk}/$"))


def test_after_the_clinics_hours_the_session_is_refused_with_the_reason_kept(
    page, live_server, cast, clock, admitted_this_morning
):
    clock.move_to(EVENING)
    person = admitted_this_morning
    log_in(page, live_server, cast.prescriber.username)
    _open_session_form(page, person)

    field(page, "Reason").fill("Admitted late in the day")
    page.get_by_role("button", name="Open the session now").click()

    refusal = page.locator("form .alert-danger[role=alert]")
    expect(refusal).to_have_text(
        re.compile(r"The clinic is open today from 08:00 to 17:30: a session can be added")
    )
    expect(page.locator("[data-error-for]")).to_have_count(0)
    expect(field(page, "Reason")).to_have_value("Admitted late in the day")
    expect(page.get_by_role("radio", name="AM")).to_be_checked()
    assert not DoseSession.objects.filter(service_user=person).exists()


def test_a_nurse_has_no_link_to_add_a_session(
    page, live_server, cast, clock, admitted_this_morning
):
    person = admitted_this_morning
    log_in(page, live_server, cast.nurse.username)
    _open_person(page, person)

    expect(page.get_by_role("heading", name="Suspension and exit")).to_be_visible()
    expect(page.get_by_role("link", name="Add a session for today")).to_have_count(0)
    assert page.goto(f"{live_server.url}/service-users/{person.pk}/sessions/new/").status in (
        403,
        404,
    )
