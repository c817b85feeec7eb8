"""Take-home in Chromium (issues 19.1 and 19.2): a manager sets the take-home criteria
as a new policy version, after a refusal that keeps what was typed; a prescriber
opens a service user's take-home page and reads each criterion met or not with its
evidence, and prescribes take-home after a refusal of more doses than the clinic
allows a week; a nurse supplies the weekend's doses after a witness refusal, prints
their labels, and on Monday takes an unused dose back, destroyed before an authorised
witness after a refusal of one who is not; and a nurse reports a supply stolen after
a refusal, which suspends take-home.
The same through Django's test client and the API is in
tests/eligibility/test_take_home_policy.py and tests/dosing/test_take_home_prescription.py."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect

from dosing.take_home import take_home_prescribe
from dosing.take_home_supply import take_home_supply
from eligibility.models import Status
from eligibility.selectors import policy_in_force
from tests.browser.navigation import log_in, nav_click
from tests.browser.page_parts import error_beside, field, told
from tests.dosing.room_setup import register_stock
from tests.dosing.take_home_setup import AT, stable
from tests.factories import PASSWORD, make_service_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=LONDON)  # a Monday, in GMT


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def test_a_manager_sets_the_take_home_criteria_after_a_refusal(clock, page, live_server, cast):
    log_in(page, live_server, cast.manager.username)
    nav_click(page, "Clinic policy")
    page.get_by_role("link", name="Take-home criteria").click()
    expect(page.get_by_role("heading", name="Take-home criteria: Clinic A")).to_be_visible()
    expect(field(page, "Sessions taken (%), at least")).to_have_value("90")
    expect(field(page, "Weeks in maintenance")).to_have_value("required")

    typed = {
        "Reason": "Take-home from the spring",
        "Weeks in maintenance, at least": "8",
        "Sessions taken (%), at least": "101",
    }
    for label, value in typed.items():
        field(page, label).fill(value)
    field(page, "No street-heroin marker in the last tox screens").select_option("advisory")
    page.get_by_role("button", name="Save the criteria").click()

    expect(error_beside(page, "take_home_adherence_percent")).to_contain_text("at most 100")
    for label, value in typed.items():
        expect(field(page, label)).to_have_value(value)
    expect(field(page, "No street-heroin marker in the last tox screens")).to_have_value("advisory")

    field(page, "Sessions taken (%), at least").fill("85")
    page.get_by_role("button", name="Save the criteria").click()
    expect(told(page, "The take-home criteria are changed")).to_be_visible()
    in_force = page.locator('[data-testid="in-force"]').locator("xpath=ancestor::div[1]/..")
    expect(in_force.locator('[data-criterion="adherence"]')).to_have_text(
        "At least 85% of sessions taken over 4 weeks: required"
    )
    expect(in_force.locator('[data-criterion="clean_tox"]')).to_have_text(
        "No street-heroin marker in the last 3 tox screens: advisory"
    )
    policy = policy_in_force(clinic=cast.clinic_a)
    assert (policy.take_home_maintenance_weeks, policy.take_home_adherence_percent) == (8, 85)


def test_a_prescriber_reads_each_criterion_with_its_evidence(clock, page, live_server, cast):
    person = make_service_user(
        cast.clinic_a,
        Status.MAINTENANCE,
        by=cast.prescriber,
        now=NOW - dt.timedelta(weeks=3),
        given_name="Robin",
        family_name="Hart",
    )
    log_in(page, live_server, cast.prescriber.username)
    page.goto(f"{live_server.url}/service-users/{person.pk}/")
    page.get_by_role("link", name="Take-home").click()
    expect(page.get_by_role("heading", name="Take-home: Robin Hart")).to_be_visible()
    expect(page.get_by_test_id("take-home-verdict")).to_contain_text(
        "Not eligible: at least 12 weeks in maintenance"
    )
    row = page.locator('[data-criterion="maintenance"]')
    expect(row).to_contain_text("Not met")
    expect(row).to_contain_text("In maintenance since 9 Feb 2026: 3 weeks (12 needed).")
    expect(page.locator('[data-criterion="clean_tox"]')).to_contain_text(
        "3 tox screens needed; recorded, none."
    )
    calm = page.locator('[data-criterion="no_adverse_event"]')
    expect(calm).to_contain_text("Met")
    expect(calm).to_contain_text("No adverse event or sedation withhold in the last 4 weeks.")


def test_a_prescriber_prescribes_take_home_after_a_refusal(page, live_server, cast):
    person = stable(cast)
    with time_machine.travel(AT, tick=True):
        log_in(page, live_server, cast.prescriber.username)
        page.goto(f"{live_server.url}/service-users/{person.pk}/take-home/")
        expect(page.get_by_test_id("take-home-verdict")).to_have_text(
            "Eligible: every criterion the clinic requires is met."
        )
        page.get_by_role("link", name="Prescribe take-home").click()
        expect(page.get_by_role("heading", name="Prescribe take-home: Jamie Test")).to_be_visible()
        field(page, "Route").select_option("oral")
        field(page, "Each dose (mg)").fill("60")
        for box in ("AM", "PM", "Mon", "Tue", "Wed", "Thu"):
            page.get_by_role("checkbox", name=box, exact=True).check()
        for box in ("Fri", "Sat", "Sun"):
            page.get_by_role("checkbox", name=box, exact=True).uncheck()
        field(page, "Last day").fill("2026-12-24")
        field(page, "Reason").fill("Stable; works away Monday to Thursday")
        page.get_by_role("button", name="Prescribe").click()

        expect(error_beside(page, "weekdays")).to_contain_text(
            "8 take-home doses in a week; at most 7."
        )
        expect(page.get_by_role("checkbox", name="Thu", exact=True)).to_be_checked()
        expect(page.get_by_role("checkbox", name="Sat", exact=True)).not_to_be_checked()
        expect(field(page, "Each dose (mg)")).to_have_value("60")
        expect(field(page, "Last day")).to_have_value("2026-12-24")
        expect(field(page, "Reason")).to_have_value("Stable; works away Monday to Thursday")

        page.get_by_role("checkbox", name="AM", exact=True).uncheck()
        page.get_by_role("button", name="Prescribe").click()
        expect(told(page, "Take-home version 1 is prescribed")).to_contain_text(
            "4 doses a week from 26 Nov 2026 to 24 Dec 2026."
        )
        expect(page.locator('[data-version="1"]')).to_contain_text("60 mg, by mouth (tablets)")
        expect(page.locator('[data-version="1"]')).to_contain_text("PM; Mon, Tue, Wed, Thu")


def test_a_nurse_supplies_the_weekend_prints_its_labels_and_takes_a_dose_back(
    page, live_server, cast
):
    person = stable(cast)
    take_home_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        route="iv",
        dose_mg="60",
        slot_codes=["PM"],
        weekdays=["sat", "sun"],
        valid_from=AT.date(),
        valid_to=AT.date() + dt.timedelta(days=27),
        reason="Weekends at home",
        now=AT,
    )
    register_stock(cast)
    with time_machine.travel(AT, tick=True) as clock:
        log_in(page, live_server, cast.nurse.username)
        page.goto(f"{live_server.url}/service-users/{person.pk}/take-home/")
        page.get_by_role("link", name="Supply take-home doses").click()
        planned = page.get_by_test_id("take-home-planned")
        expect(planned).to_contain_text("Sat 28 Nov 2026")
        expect(planned).to_contain_text("Sun 29 Nov 2026")
        expect(field(page, "Supply to the end of")).to_have_value("2026-11-29")
        field(page, "Witness's username").fill(cast.hca.username)
        field(page, "Witness's password").fill("not their password")
        field(page, "Note").fill("Going to his sister's")
        page.get_by_role("button", name="Supply, witnessed").click()

        expect(error_beside(page, "witness_password")).to_contain_text(
            "The witness's username or password is not right"
        )
        expect(field(page, "Witness's username")).to_have_value(cast.hca.username)
        expect(field(page, "Note")).to_have_value("Going to his sister's")
        expect(field(page, "Supply to the end of")).to_have_value("2026-11-29")

        field(page, "Witness's password").fill(PASSWORD)
        page.get_by_role("button", name="Supply, witnessed").click()
        expect(page.get_by_test_id("take-home-label")).to_have_count(2)
        expect(page.get_by_test_id("take-home-label").first).to_contain_text(
            "Take on Sat 28 Nov 2026, PM dose"
        )
        expect(page.get_by_test_id("take-home-label").first).to_contain_text(
            "Keep out of reach of children"
        )
        page.get_by_role("link", name="As A4").click()
        expect(page.get_by_test_id("take-home-label")).to_have_count(2)
        page.get_by_role("link", name="Back to take-home").click()
        expect(page.get_by_test_id("take-home-supplies")).to_contain_text("Sat 28 Nov PM")

        # On Monday he brings Sunday's dose back: destroyed before the prescriber.
        clock.move_to(dt.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON))
        page.context.clear_cookies()
        log_in(page, live_server, cast.nurse.username)
        page.goto(f"{live_server.url}/service-users/{person.pk}/take-home/")
        page.get_by_role("link", name="Doses brought back").click()
        page.get_by_role("checkbox", name="Sun 29 Nov PM: 60 mg").check()
        field(page, "Ampoules or tablets brought back").fill("1")
        field(page, "Authorised witness's username").fill(cast.hca.username)
        field(page, "Authorised witness's password").fill(PASSWORD)
        field(page, "Note").fill("Unopened; he stayed at the clinic's hostel on Sunday")
        page.get_by_role("button", name="Record and destroy, witnessed").click()
        expect(error_beside(page, "witness_username")).to_contain_text(
            "cannot witness the destruction of controlled drugs"
        )
        expect(page.get_by_role("checkbox", name="Sun 29 Nov PM: 60 mg")).to_be_checked()
        expect(field(page, "Note")).to_have_value(
            "Unopened; he stayed at the clinic's hostel on Sunday"
        )
        field(page, "Authorised witness's username").fill(cast.prescriber.username)
        field(page, "Authorised witness's password").fill(PASSWORD)
        page.get_by_role("button", name="Record and destroy, witnessed").click()
        expect(told(page, "1 dose brought back")).to_contain_text(
            "1 ampoule (100 mg), destroyed and witnessed."
        )
        expect(page.get_by_test_id("take-home-supplies")).to_contain_text(
            "Sun 29 Nov PM (brought back)"
        )


def test_a_nurse_reports_a_supply_stolen_after_a_refusal(page, live_server, cast):
    person = stable(cast)
    take_home_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        route="iv",
        dose_mg="60",
        slot_codes=["PM"],
        weekdays=["sat", "sun"],
        valid_from=AT.date(),
        valid_to=AT.date() + dt.timedelta(days=27),
        reason="Weekends at home",
        now=AT,
    )
    register_stock(cast)
    given = take_home_supply(
        service_user=person,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        through=AT.date() + dt.timedelta(days=3),
        now=AT,
    )
    with time_machine.travel(AT + dt.timedelta(hours=3), tick=True):
        log_in(page, live_server, cast.nurse.username)
        page.goto(f"{live_server.url}/service-users/{person.pk}/take-home/")
        page.get_by_role("link", name="Report lost or stolen").click()
        page.get_by_role("radio", name="Stolen").check()
        field(page, "How many doses").fill("3")
        field(page, "When it happened").fill("2026-11-26")
        field(page, "What happened").fill("Bag taken on the bus; police told, crime no. 4411")
        page.get_by_role("button", name="Record it").click()

        expect(error_beside(page, "doses")).to_contain_text("The supply held 2 doses")
        expect(page.get_by_role("radio", name="Stolen")).to_be_checked()
        expect(field(page, "When it happened")).to_have_value("2026-11-26")
        expect(field(page, "What happened")).to_have_value(
            "Bag taken on the bus; police told, crime no. 4411"
        )

        field(page, "How many doses").fill("2")
        page.get_by_role("button", name="Record it").click()
        expect(told(page, "Take-home is suspended and the prescriber is alerted")).to_be_visible()
        expect(page.get_by_test_id("take-home-lapse")).to_contain_text(
            "Take-home is suspended: 2 take-home doses reported stolen."
        )
        # Suspended: the supply page says so and offers no form.
        page.get_by_role("link", name="Supply take-home doses").click()
        expect(page.get_by_test_id("take-home-barrier")).to_contain_text(
            "Take-home is suspended: 2 take-home doses reported stolen."
        )
        expect(page.get_by_role("button", name="Supply, witnessed")).to_have_count(0)
    assert given.losses.get().kind == "stolen"
