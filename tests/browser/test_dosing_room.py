import datetime as dt
import os
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from dosing.models import Administration, DoseSession
from dosing.prescribing import prescription_issue
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from tests.browser.navigation import log_in
from tests.factories import PASSWORD, TRANSFER, make_service_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 2, 10)
NINE = dt.datetime(2026, 2, 10, 9, 0, tzinfo=LONDON)
SET_UP = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)
SCREENSHOT = os.environ.get("BOARD_SCREENSHOT")  # set to write the README's picture


@pytest.fixture
def clock():
    with time_machine.travel(NINE, tick=True) as traveller:
        yield traveller


@pytest.fixture
def people(cast):
    names = [
        ("Sunny", "Ahmed", ["alcohol"]),
        ("Jo", "Baker", []),
        ("Kit", "Clarke", []),
        ("Mo", "Davies", ["benzodiazepines"]),
    ]
    made = []
    for preferred, family, flags in names:
        person = make_service_user(
            cast.clinic_a,
            Status.TITRATION,
            by=cast.prescriber,
            now=SET_UP,
            preferred_name=preferred,
            family_name=family,
            flags=flags,
        )
        prescription_issue(
            service_user=person,
            prescriber=cast.prescriber,
            slot_doses={"AM": "60", "PM": "60"},
            topup_max_mg="10",
            **TRANSFER,
            reason="Transfer",
            now=SET_UP,
        )
        made.append(person)
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=SET_UP)
    return made


def open_session(page, live_server, name):
    page.goto(f"{live_server.url}/dosing/")
    page.get_by_role("row").filter(has_text=name).get_by_role("link", name="Open").click()


def injection_form(page):
    """The injection (or top-up) form: the correction forms below it share its labels."""
    return page.locator("form[aria-labelledby=inject-h]")


def inject(page, witness, mg="60"):
    form = injection_form(page)
    form.get_by_label("Drawn up (mg)").fill(mg)
    form.get_by_label("Injected (mg)").fill(mg)
    form.get_by_label("Witness username").fill(witness.username)
    form.get_by_label("Witness password").fill(PASSWORD)
    form.get_by_role("button", name="Record injection").click()


def test_a_full_session_assess_inject_top_up_observe(page, live_server, cast, people, clock):
    log_in(page, live_server, cast.nurse.username)
    page.goto(f"{live_server.url}/dosing/")
    assert "4 expected" in page.get_by_test_id("board-summary").inner_text()
    # Counted against the server's clock (09:00), not the browser's: 2 h 30 min to go,
    # less the seconds the page has been open.
    assert re.match(
        r"2 h (30 min 00 s|29 min \d\d s) left",
        page.get_by_test_id("window-countdown").inner_text(),
    )
    if SCREENSHOT:
        page.set_viewport_size({"width": 1024, "height": 640})
        page.screenshot(path=SCREENSHOT)
    open_session(page, live_server, "Jo")
    page.get_by_label("Identity confirmed").check()
    page.get_by_label("1: awake and alert").check()
    page.get_by_role("button", name="Record assessment").click()
    assert (
        "Assessment recorded: go on to the injection."
        in page.get_by_role("alert").first.inner_text()
    )
    inject(page, cast.hca, mg="55")
    assert "Observation has started" in page.get_by_role("alert").first.inner_text()
    assert page.get_by_test_id("observation-timer").is_visible()
    clock.shift(dt.timedelta(minutes=20))
    page.reload()
    form = injection_form(page)
    form.get_by_label("Drawn up (mg)").fill("5")
    form.get_by_label("Injected (mg)").fill("5")
    form.get_by_label("Witness username").fill(cast.hca.username)
    form.get_by_label("Witness password").fill(PASSWORD)
    form.get_by_role("button", name="Record top-up").click()
    assert "Top-up recorded." in page.get_by_role("alert").first.inner_text()
    clock.shift(dt.timedelta(minutes=20))
    page.reload()
    page.get_by_label("No concerns").check()
    page.get_by_role("button", name="Record observation").click()
    assert "the session is complete" in page.get_by_role("alert").first.inner_text()
    assert page.get_by_test_id("session-status").inner_text() == "Complete"


def test_poss_3_is_refused_with_its_message(page, live_server, cast, people, clock):
    log_in(page, live_server, cast.nurse.username)
    open_session(page, live_server, "Kit")
    page.get_by_label("Identity confirmed").check()
    page.get_by_label("3: frequently drowsy").check()
    page.get_by_role("button", name="Record assessment").click()
    assert page.get_by_test_id("session-status").inner_text() == "Withheld"
    assert "POSS 3: too sedated to dose" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Record injection").count() == 0


def test_two_nurses_racing_see_already_recorded(page, browser, live_server, cast, people, clock):
    person = people[3]
    session = DoseSession.objects.get(service_user=person, slot_code="AM")
    log_in(page, live_server, cast.nurse.username)
    open_session(page, live_server, "Mo")
    page.get_by_label("Identity confirmed").check()
    page.get_by_label("1: awake and alert").check()
    page.get_by_role("button", name="Record assessment").click()
    other = browser.new_context().new_page()
    from core.roles import Role
    from tests.factories import make_staff

    second_nurse = make_staff(cast.clinic_a, Role.NURSE)
    log_in(other, live_server, second_nurse.username)
    other.goto(f"{live_server.url}/dosing/sessions/{session.pk}/")
    inject(page, cast.hca)
    inject(other, cast.hca)
    assert "This dose is already recorded." in other.get_by_role("alert").first.inner_text()
    assert Administration.objects.filter(session=session).count() == 1
    other.context.close()


def test_the_board_fits_a_tablet_without_sideways_scrolling(page, live_server, cast, people, clock):
    page.set_viewport_size({"width": 768, "height": 1024})
    log_in(page, live_server, cast.nurse.username)
    page.goto(f"{live_server.url}/dosing/")
    assert page.get_by_role("row").filter(has_text="Sunny").is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    open_button = page.get_by_role("row").filter(has_text="Sunny").get_by_role("link", name="Open")
    box = open_button.bounding_box()
    assert box["x"] + box["width"] <= 768 and box["height"] >= 40  # a finger-sized target
