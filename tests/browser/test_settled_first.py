"""In Chromium, with the missed-dose scan stopped: the board and the session page show
the rules as they stand, and an assessment after three sessions not taken, or more
than three days after the last dose, is refused (issue 15.1 and 15.4). The same
through the API is in tests/dosing/test_settle_first.py and test_lapse.py."""

import datetime as dt

import pytest
import time_machine

from alerts.models import Alert, AlertKind
from dosing.models import DoseSession, SessionStatus
from dosing.prescribing import prescription_issue
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from tests.browser.navigation import log_in
from tests.dosing.room_setup import DAY, LONDON, SET_UP, give_dose, on_prescription
from tests.factories import TRANSFER, make_service_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ASSESS = "form[aria-labelledby=assess-h]"
YESTERDAY = DAY - dt.timedelta(days=1)


def blocked_and_refused_on_the_page(page, live_server, cast, at, slot, name):
    """At ``at``, the nurse finds the person marked on the board and bannered on the
    session page; an assessment tried anyway is refused with what was typed kept."""
    with time_machine.travel(at, tick=True):
        log_in(page, live_server, cast.nurse.username)
        page.goto(f"{live_server.url}/dosing/?date={at.date()}&slot={slot}")
        row = page.get_by_role("row").filter(has_text=name)
        assert row.get_by_test_id("retitration-required").is_visible()
        row.get_by_role("link", name="Open").click()
        assert "Re-titration required." in page.get_by_test_id("retitration-banner").inner_text()
        form = page.locator(ASSESS)
        form.get_by_label("Identity confirmed").check()
        form.get_by_label("1: awake and alert").check()
        with page.expect_response(lambda r: r.request.method == "POST") as posted:
            form.get_by_role("button", name="Record assessment").click()
        assert posted.value.status == 400
        assert "needs re-titration" in page.locator("main").inner_text()
        assert page.locator(ASSESS).get_by_label("Identity confirmed").is_checked()
        assert page.locator(ASSESS).get_by_label("1: awake and alert").is_checked()


@pytest.fixture
def unscanned(cast):
    """Yesterday's AM and PM and today's AM closed with nobody coming, and the scan has
    not run since: three in a row, the clinic's threshold."""
    person = on_prescription(cast, preferred_name="Rowan", family_name="Late")
    dose_sessions_generate(clinic=cast.clinic_a, days=[YESTERDAY], now=SET_UP)
    return person


def test_the_page_shows_the_block_and_refuses_an_assessment_though_the_scan_never_ran(
    unscanned, page, live_server, cast
):
    at = dt.datetime.combine(DAY, dt.time(14), tzinfo=LONDON)
    blocked_and_refused_on_the_page(page, live_server, cast, at, "PM", "Rowan")
    pm = DoseSession.objects.get(service_user=unscanned, clinic_day=DAY, slot_code="PM")
    assert not pm.assessments.exists()
    assert (
        DoseSession.objects.filter(service_user=unscanned, status=SessionStatus.MISSED).count() == 3
    )
    assert Alert.objects.filter(
        service_user=unscanned, kind=AlertKind.RETITRATION_REQUIRED
    ).exists()


@pytest.fixture
def lapsed_by_time(cast):
    """On an AM dose only, dosed on DAY at 09:00 and not since: two sessions missed,
    under the threshold of 3, but on DAY + 3 at 09:30 the last dose was 3 days and
    30 minutes ago."""
    person = make_service_user(
        cast.clinic_a,
        Status.MAINTENANCE,
        by=cast.prescriber,
        now=SET_UP,
        preferred_name="Robin",
        family_name="Lapsed",
    )
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60"},
        reason="Transfer",
        now=SET_UP,
        **TRANSFER,
    )
    days = [DAY + dt.timedelta(days=n) for n in range(4)]
    dose_sessions_generate(clinic=cast.clinic_a, days=days, now=SET_UP)
    give_dose(
        cast,
        DoseSession.objects.get(service_user=person, clinic_day=DAY, slot_code="AM"),
        dt.datetime.combine(DAY, dt.time(9), tzinfo=LONDON),
    )
    return person, days[3]


def test_more_than_three_days_since_the_last_dose_is_refused_on_the_page(
    lapsed_by_time, page, live_server, cast
):
    person, friday = lapsed_by_time
    at = dt.datetime.combine(friday, dt.time(9, 30), tzinfo=LONDON)
    blocked_and_refused_on_the_page(page, live_server, cast, at, "AM", "Robin")
    person.refresh_from_db()
    assert (person.status, person.consecutive_not_taken) == ("retitration_required", 2)
    (alert,) = Alert.objects.filter(service_user=person, kind=AlertKind.RETITRATION_REQUIRED)
    assert "No dose for longer than the clinic's re-titration days" in alert.detail
