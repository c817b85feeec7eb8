"""Every action of the session page driven in Chromium, refusals included (issue 14,
point 10). A refusal answers 400 with the message beside its field and every value
typed kept, except the witness password, which the witness types again. The same
rules through the services and the Django client are in
tests/dosing/test_session_safety.py and tests/dosing/test_corrections.py."""

import datetime as dt
import os

import pytest
import time_machine

from dosing.assessment import session_assess
from dosing.missed import observations_overdue_scan
from dosing.models import DoseSession
from dosing.prescribing import prescription_issue
from dosing.room import dose_administer
from eligibility.models import Status
from eligibility.services import service_user_transition
from tests.browser.navigation import log_in
from tests.dosing.room_setup import (
    DAY,
    LONDON,
    NINE,
    assessed_for_pm_on_160,
    give_dose,
    on_prescription,
    register_stock,
)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The session page's forms.
ASSESS = "form[aria-labelledby=assess-h]"
INJECT = "form[aria-labelledby=inject-h]"
OBSERVE = "form[aria-labelledby=observe-h]"
CORRECT_INJECTION = "form[aria-label='Correct the injection']"
# Django's messages and the page's banners: the alerts directly under <main>.
ALERTS = "main > .alert[role=alert]"


def at(hh, mm=0):
    return dt.datetime.combine(DAY, dt.time(hh, mm), tzinfo=LONDON)


def slot(person, code="AM"):
    return DoseSession.objects.get(service_user=person, slot_code=code)


SCREENSHOT = os.environ.get("SESSION_SCREENSHOT")  # set to write the README's picture


@pytest.fixture
def clock():
    """The server's clock at 09:00 on DAY, running; a test moves it with move_to."""
    with time_machine.travel(NINE, tick=True) as traveller:
        yield traveller


@pytest.fixture
def nurse(page, live_server, cast, clock):
    """The page, logged in as the nurse once the clock is on DAY. A login ends after
    30 minutes idle (settings.SESSION_COOKIE_AGE), so a test moves the clock by less
    between two requests, or logs in again with ``nurse_from``."""
    log_in(page, live_server, cast.nurse.username)
    return page


def nurse_from(when, page, live_server, cast, clock):
    """Move the clock to ``when`` and log the nurse in there."""
    clock.move_to(when)
    log_in(page, live_server, cast.nurse.username)
    return page


def open_session(page, live_server, session):
    page.goto(f"{live_server.url}/dosing/sessions/{session.pk}/")


def press(page, form, button) -> int:
    """Press a form's button and wait for the page that answers; the POST's status
    (302 when recorded, 400 when refused)."""
    with (
        page.expect_response(lambda r: r.request.method == "POST") as posted,
        page.expect_navigation(),
    ):
        page.locator(form).get_by_role("button", name=button, exact=True).click()
    return posted.value.status


def alerts(page) -> str:
    return "\n".join(page.locator(ALERTS).all_inner_texts())


def error_beside(page, name) -> str:
    """The refusal shown beside the input called ``name``."""
    return page.locator(f"[data-error-for='{name}']").inner_text()


def status_badge(page) -> str:
    return page.get_by_test_id("session-status").inner_text()


def assess(page, poss_label):
    form = page.locator(ASSESS)
    form.get_by_label("Identity confirmed").check()
    form.get_by_label(poss_label).check()


def fill_injection(page, witness, *, drawn="60", injected="60", site="arm", password=PASSWORD):
    form = page.locator(INJECT)
    form.get_by_label("Drawn up (mg)").fill(drawn)
    form.get_by_label("Injected (mg)").fill(injected)
    form.get_by_label("Route").select_option("iv")
    form.get_by_label("Site").select_option(site)
    form.get_by_label("Witness username").fill(witness.username)
    form.get_by_label("Witness password").fill(password)


def kept_injection(page) -> dict:
    """What the injection form shows now."""
    form = page.locator(INJECT)
    return {
        label: form.get_by_label(label).input_value()
        for label in (
            "Drawn up (mg)",
            "Injected (mg)",
            "Route",
            "Site",
            "Witness username",
            "Witness password",
        )
    }


def fill_overdose(page, *, details):
    form = page.locator(OBSERVE)
    form.get_by_label("Adverse event").check()
    form.get_by_label("Overdose", exact=True).check()
    form.get_by_label("Ambulance called").check()
    form.get_by_label("Naloxone (mg)").fill("0.4")
    form.get_by_label("Naloxone time").fill("09:15")
    form.get_by_label("Details").fill(details)


# 1. An assessment without POSS ------------------------------------------------------------


@pytest.fixture
def jo(cast):
    return on_prescription(cast, preferred_name="Jo", family_name="Baker")


def test_an_assessment_without_poss_is_refused_beside_poss_and_keeps_what_was_typed(
    jo, nurse, live_server
):
    open_session(nurse, live_server, slot(jo))
    form = nurse.locator(ASSESS)
    form.get_by_label("Identity confirmed").check()
    form.get_by_label("Reason to go on at a caution level").fill("Slept badly, alert now")
    assert press(nurse, ASSESS, "Record assessment") == 400
    assert error_beside(nurse, "assess-poss") == "Choose the sedation score (POSS)."
    assert form.get_by_label("Identity confirmed").is_checked()
    reason = form.get_by_label("Reason to go on at a caution level").input_value()
    assert reason == "Slept badly, alert now"
    assert status_badge(nurse) == "Scheduled"
    assert not slot(jo).assessments.exists()


# 2. A caution without its reason ----------------------------------------------------------


def test_a_caution_without_its_reason_is_refused_then_recorded_with_one(jo, nurse, live_server):
    open_session(nurse, live_server, slot(jo))
    assess(nurse, "2: slightly drowsy")
    assert press(nurse, ASSESS, "Record assessment") == 400
    message = error_beside(nurse, "assess-caution_reason")
    assert message.startswith("Caution:") and "defer the dose and reassess later" in message
    form = nurse.locator(ASSESS)
    assert form.get_by_label("2: slightly drowsy").is_checked()
    assert form.get_by_label("Identity confirmed").is_checked()
    form.get_by_label("Reason to go on at a caution level").fill("Drowsy from a late night")
    assert press(nurse, ASSESS, "Record assessment") == 302
    assert "Assessment recorded: go on to the injection." in alerts(nurse)
    assert status_badge(nurse) == "Assessed"
    assert "caution: Drowsy from a late night" in nurse.get_by_test_id("assessment").inner_text()


# 3. POSS 3, defer, reassess and dose ------------------------------------------------------


def test_poss_3_deferred_then_reassessed_leads_to_a_dose_and_an_observation(
    jo, nurse, live_server, cast, clock
):
    open_session(nurse, live_server, slot(jo))
    assess(nurse, "3: frequently drowsy")
    assert press(nurse, ASSESS, "Defer and reassess later") == 302
    message = nurse.locator(f"{ALERTS}.alert-warning").first.inner_text()
    assert "reassess later in this window, before 11:30" in message
    assert "If the window closes first, the dose is withheld" in message
    assert "Assessment recorded" not in alerts(nurse)
    assert status_badge(nurse) == "Deferred"
    assert nurse.locator("#assess-h").inner_text() == "1. Pre-dose assessment: reassess"
    assert nurse.locator(INJECT).count() == 0

    clock.move_to(at(9, 25))
    nurse.reload()
    assess(nurse, "1: awake and alert")
    assert press(nurse, ASSESS, "Record assessment") == 302
    assert "Assessment recorded: go on to the injection." in alerts(nurse)
    fill_injection(nurse, cast.hca)
    assert press(nurse, INJECT, "Record injection") == 302
    assert "Injection recorded. Observation has started." in alerts(nurse)
    assert nurse.get_by_test_id("observation-timer").is_visible()

    clock.move_to(at(9, 46))
    nurse.reload()
    nurse.locator(OBSERVE).get_by_label("No concerns").check()
    assert press(nurse, OBSERVE, "Record observation") == 302
    assert status_badge(nurse) == "Complete"
    assessed = nurse.get_by_test_id("assessment").all_inner_texts()
    assert len(assessed) == 2 and "deferred for reassessment" in assessed[0]


# 4. A wrong witness password --------------------------------------------------------------


def test_a_wrong_witness_password_keeps_every_value_but_the_password(jo, nurse, live_server, cast):
    session = slot(jo)
    session_assess(session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=NINE)
    open_session(nurse, live_server, session)
    fill_injection(nurse, cast.hca, drawn="60", injected="55", site="hand", password="not-it")
    assert press(nurse, INJECT, "Record injection") == 400
    assert "username or password is not right" in error_beside(nurse, "administer-witness_password")
    assert kept_injection(nurse) == {
        "Drawn up (mg)": "60",
        "Injected (mg)": "55",
        "Route": "iv",
        "Site": "hand",
        "Witness username": cast.hca.username,
        "Witness password": "",
    }
    assert not session.administrations.exists()
    nurse.locator(INJECT).get_by_label("Witness password").fill(PASSWORD)
    assert press(nurse, INJECT, "Record injection") == 302
    assert "Injection recorded. Observation has started." in alerts(nurse)
    assert "Injection 09:0" in nurse.get_by_test_id("injection").inner_text()
    assert "55 mg intravenous, hand" in nurse.get_by_test_id("injection").inner_text()


# 5. A top-up too early --------------------------------------------------------------------


def test_a_top_up_too_early_is_refused_and_recorded_once_the_gap_has_passed(
    cast, nurse, live_server, clock
):
    person = on_prescription(cast, topup_max_mg="10", preferred_name="Kit")
    session = give_dose(cast, slot(person), NINE)
    clock.move_to(at(9, 10))
    open_session(nurse, live_server, session)
    assert nurse.locator("#inject-h").inner_text() == "Top-up"
    fill_injection(nurse, cast.hca, drawn="5", injected="5")
    assert press(nurse, INJECT, "Record top-up") == 400
    assert "not before 09:20" in nurse.locator(INJECT).get_by_role("alert").inner_text()
    assert kept_injection(nurse) == {
        "Drawn up (mg)": "5",
        "Injected (mg)": "5",
        "Route": "iv",
        "Site": "arm",
        "Witness username": cast.hca.username,
        "Witness password": "",
    }
    clock.move_to(at(9, 21))
    nurse.locator(INJECT).get_by_label("Witness password").fill(PASSWORD)
    assert press(nurse, INJECT, "Record top-up") == 302
    assert "Top-up recorded." in alerts(nurse)
    assert session.administrations.count() == 2


# 6. An observation with naloxone ----------------------------------------------------------


@pytest.fixture
def dosed_at_nine(cast):
    person = on_prescription(cast, preferred_name="Sunny", family_name="Ahmed")
    return give_dose(cast, slot(person), NINE)


def test_an_overdose_with_naloxone_records_from_the_page_after_a_refusal_that_kept_it(
    dosed_at_nine, nurse, live_server, clock
):
    clock.move_to(at(9, 25))
    open_session(nurse, live_server, dosed_at_nine)
    fill_overdose(nurse, details="")
    assert press(nurse, OBSERVE, "Record observation") == 400
    assert error_beside(nurse, "observe-details") == "Describe the adverse event."
    form = nurse.locator(OBSERVE)
    assert form.get_by_label("Adverse event").is_checked()
    assert form.get_by_label("Overdose", exact=True).is_checked()
    assert form.get_by_label("Ambulance called").is_checked()
    assert not form.get_by_label("Over-sedation").is_checked()
    assert form.get_by_label("Naloxone (mg)").input_value() == "0.4"
    assert form.get_by_label("Naloxone time").input_value() == "09:15"

    form.get_by_label("Details").fill("Slow breathing, roused after naloxone")
    assert press(nurse, OBSERVE, "Record observation") == 302
    assert "Observation recorded: the session is complete." in alerts(nurse)
    observation = nurse.get_by_test_id("observation").inner_text()
    assert "Adverse event" in observation
    assert "naloxone 0.4 mg at 09:15" in observation
    assert "ambulance called" in observation
    assert "Slow breathing, roused after naloxone" in observation
    if SCREENSHOT:  # the README's picture of a refusal kept and an adverse event recorded
        nurse.set_viewport_size({"width": 1024, "height": 900})
        nurse.screenshot(path=SCREENSHOT, full_page=True)


# 7. An adverse event visible afterwards ---------------------------------------------------


def test_an_adverse_event_shows_on_the_timeline_the_review_and_the_persons_page(
    dosed_at_nine, nurse, live_server, browser, cast, clock
):
    clock.move_to(at(9, 25))
    open_session(nurse, live_server, dosed_at_nine)
    fill_overdose(nurse, details="Slow breathing")
    assert press(nurse, OBSERVE, "Record observation") == 302
    signs = "overdose, naloxone 0.4 mg at 09:15, ambulance called"
    person = dosed_at_nine.service_user

    nurse.goto(f"{live_server.url}/service-users/{person.pk}/timeline/")
    urgent = nurse.locator("[data-urgent=true]")
    assert urgent.count() == 1
    assert signs in urgent.inner_text()

    nurse.goto(f"{live_server.url}/service-users/{person.pk}/")
    assert signs in nurse.get_by_test_id("adverse-events").inner_text()

    prescriber = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
    try:
        log_in(prescriber, live_server, cast.prescriber.username)
        prescriber.goto(f"{live_server.url}/service-users/{person.pk}/review/")
        assert signs in prescriber.get_by_test_id("adverse-events").inner_text()
    finally:
        prescriber.context.close()


# 8. A witnessed correction, and the register page showing it ------------------------------


@pytest.fixture
def dosed_from_the_register(cast):
    """160 mg drawn and 150 mg injected at 09:00 (two 100 mg ampoules opened: 50 mg
    waste), from a register section that supplies doses, as
    tests/dosing/test_corrections.py sets it up."""
    section = register_stock(cast)
    person = on_prescription(
        cast, slot_doses={"AM": "150", "PM": "150"}, topup_max_mg="20", preferred_name="Mo"
    )
    session = slot(person)
    session_assess(session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=NINE)
    dose_administer(
        session=session,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        drawn_mg="160",
        injected_mg="150",
        route="iv",
        site="arm",
        now=NINE,
    )
    return section, session


def test_a_witnessed_correction_is_refused_without_the_witness_and_shows_on_the_register(
    dosed_from_the_register, nurse, live_server, cast, clock
):
    section, session = dosed_from_the_register
    clock.move_to(at(9, 20))
    open_session(nurse, live_server, session)
    nurse.locator("summary", has_text="Correct a record").click()
    form = nurse.locator(CORRECT_INJECTION)
    assert float(form.get_by_label("Injected (mg)").input_value()) == 150
    assert float(form.get_by_label("Drawn up (mg)").input_value()) == 160
    assert form.get_by_label("Time of injection").input_value() == "09:00"
    assert form.get_by_label("Witness password").input_value() == ""
    form.get_by_label("Injected (mg)").fill("140")
    form.get_by_label("Why is it corrected?").fill("Mis-keyed: 140 mg injected")

    # No witness.
    assert press(nurse, CORRECT_INJECTION, "Record correction") == 400
    assert "witness" in error_beside(nurse, "amend-administration-1-witness_username")
    assert form.get_by_label("Injected (mg)").is_visible()  # the correction stays open
    assert form.get_by_label("Injected (mg)").input_value() == "140"
    assert form.get_by_label("Why is it corrected?").input_value() == "Mis-keyed: 140 mg injected"

    # A wrong password.
    form.get_by_label("Witness username").fill(cast.hca.username)
    form.get_by_label("Witness password").fill("not-it")
    assert press(nurse, CORRECT_INJECTION, "Record correction") == 400
    assert "not right" in error_beside(nurse, "amend-administration-1-witness_password")
    assert form.get_by_label("Injected (mg)").input_value() == "140"
    assert form.get_by_label("Why is it corrected?").input_value() == "Mis-keyed: 140 mg injected"
    assert form.get_by_label("Witness username").input_value() == cast.hca.username
    assert form.get_by_label("Witness password").input_value() == ""
    assert not session.amendments.exists()

    form.get_by_label("Witness password").fill(PASSWORD)
    assert press(nurse, CORRECT_INJECTION, "Record correction") == 302
    assert "Correction recorded beside the original." in alerts(nurse)
    corrections = nurse.get_by_test_id("amendments").inner_text()
    assert "Injected (mg) 150 → 140" in corrections
    assert "Why: Mis-keyed: 140 mg injected" in corrections

    nurse.goto(f"{live_server.url}/register/{section.pk}/")
    assert "Waste corrected from 50 mg to 60 mg" in nurse.get_by_test_id("register").inner_text()


# 9. The dose shown is the dose enforced ---------------------------------------------------


@pytest.fixture
def on_160_assessed_for_pm(cast):
    """160 mg a session, in maintenance, assessed for the PM dose at 13:10."""
    return assessed_for_pm_on_160(cast)


def test_a_new_version_in_force_since_the_page_opened_refuses_the_dose_naming_it(
    on_160_assessed_for_pm, page, live_server, cast, clock
):
    session = on_160_assessed_for_pm
    nurse = nurse_from(at(13, 25), page, live_server, cast, clock)
    open_session(nurse, live_server, session)
    assert "Prescribed PM dose: 160 mg" in nurse.get_by_test_id("prescribed-dose").inner_text()
    fill_injection(nurse, cast.hca, drawn="80", injected="80")
    # Meanwhile a prescriber halves the dose from 13:30.
    new = prescription_issue(
        service_user=session.service_user,
        prescriber=cast.prescriber,
        slot_doses={"AM": "80", "PM": "80"},
        reason="Sedated at home: halved",
        valid_from=at(13, 30),
    )
    clock.move_to(at(13, 31))
    assert press(nurse, INJECT, "Record injection") == 400
    assert "80 mg for PM" in error_beside(nurse, "administer-injected_mg")
    assert "Prescribed PM dose: 80 mg" in nurse.get_by_test_id("prescribed-dose").inner_text()
    form = nurse.locator(INJECT)
    assert form.locator("[name='administer-prescription']").input_value() == str(new.pk)
    kept = kept_injection(nurse)
    assert (kept["Drawn up (mg)"], kept["Injected (mg)"]) == ("80", "80")
    assert kept["Witness username"] == cast.hca.username
    assert kept["Witness password"] == ""
    assert not session.administrations.exists()

    form.get_by_label("Witness password").fill(PASSWORD)
    assert press(nurse, INJECT, "Record injection") == 302
    assert "Injection recorded. Observation has started." in alerts(nurse)
    assert str(session.administrations.get().injected_mg) == "80.00"


# 10. Re-titration visible before anyone assesses ------------------------------------------


@pytest.fixture
def blocked(cast):
    person = on_prescription(cast, preferred_name="Rowan", family_name="Blocked")
    service_user_transition(
        service_user=person,
        to_status=Status.RETITRATION_REQUIRED,
        changed_by=None,
        reason="Three sessions not taken",
        now=at(8),
    )
    return person


def test_a_person_who_must_be_retitrated_is_marked_on_the_board_and_the_session_page(
    blocked, nurse, live_server
):
    nurse.goto(f"{live_server.url}/dosing/")
    row = nurse.get_by_role("row").filter(has_text="Rowan")
    assert row.get_by_test_id("retitration-required").is_visible()
    row.get_by_role("link", name="Open").click()
    banner = nurse.get_by_test_id("retitration-banner")
    assert banner.is_visible()
    assert "Re-titration required." in banner.inner_text()
    assert status_badge(nurse) == "Scheduled"
    assert not slot(blocked).assessments.exists()


# 11. Observation not recorded -------------------------------------------------------------


def test_an_observation_not_recorded_is_marked_on_the_board_and_the_session_page(
    dosed_at_nine, page, live_server, cast, clock
):
    nurse = nurse_from(at(9, 51), page, live_server, cast, clock)
    assert observations_overdue_scan() == 1
    nurse.goto(f"{live_server.url}/dosing/")
    row = nurse.get_by_role("row").filter(has_text="Sunny")
    assert row.get_by_test_id("observation-overdue").inner_text() == "Observation overdue"
    row.get_by_role("link", name="Open").click()
    assert "Observation not recorded." in nurse.get_by_test_id("observation-overdue").inner_text()
    assert nurse.locator(OBSERVE).is_visible()


# 12. A withhold is a red message, never a green one ---------------------------------------


def test_a_withhold_at_assessment_is_a_red_message_not_a_green_one(jo, nurse, live_server):
    open_session(nurse, live_server, slot(jo))
    assess(nurse, "3: frequently drowsy")
    assert press(nurse, ASSESS, "Record assessment") == 302
    danger = nurse.locator(f"{ALERTS}.alert-danger").first.inner_text()
    assert danger.startswith("Dose withheld.") and "POSS 3" in danger
    assert "Assessment recorded" not in alerts(nurse)
    assert nurse.locator(f"{ALERTS}.alert-success").count() == 0
    assert status_badge(nurse) == "Withheld"


# Withhold and declined --------------------------------------------------------------------

WITHHOLD = "form[aria-label='Withhold the dose']"
DECLINE = "form[aria-label='Declined by the service user']"


def test_a_withhold_for_another_reason_asks_why_and_keeps_the_reason_chosen(jo, nurse, live_server):
    open_session(nurse, live_server, slot(jo))
    form = nurse.locator(WITHHOLD)
    form.get_by_label("Reason to withhold").select_option("other")
    assert press(nurse, WITHHOLD, "Withhold") == 400
    # The note is what is missing, so the refusal belongs beside the note.
    refusals = form.locator("[data-error-for]").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.dataset.errorFor, e.innerText]))"
    )
    assert refusals == {"withhold-note": "Say why the dose is withheld."}
    assert form.get_by_label("Reason to withhold").input_value() == "other"
    assert status_badge(nurse) == "Scheduled"
    form.get_by_label("Withhold note").fill("Aggressive in the waiting room")
    assert press(nurse, WITHHOLD, "Withhold") == 302
    assert "Dose withheld." in nurse.locator(f"{ALERTS}").first.inner_text()
    assert status_badge(nurse) == "Withheld"
    assert "Aggressive in the waiting room" in nurse.locator("main").inner_text()


def test_a_dose_declined_by_the_service_user_is_recorded_with_its_note(jo, nurse, live_server):
    open_session(nurse, live_server, slot(jo))
    nurse.locator(DECLINE).get_by_label("Decline note").fill("Wants to skip this morning")
    assert press(nurse, DECLINE, "Declined") == 302
    assert "Recorded as declined." in alerts(nurse)
    assert status_badge(nurse) == "Declined"
    assert "Declined: Wants to skip this morning" in nurse.locator("main").inner_text()
    assert nurse.locator(ASSESS).count() == 0
