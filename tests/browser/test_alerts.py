"""The alert inbox in Chromium: the count in the navigation, a refusal without a note,
and an acknowledgement; a tox screen recorded from the service user's page."""

import datetime as dt

import pytest

from alerts.models import AlertKind
from alerts.services import alert_raise
from eligibility.models import Status
from tests.browser.navigation import nav_click
from tests.browser.test_login import _log_in
from tests.factories import make_service_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def person(cast):
    return make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, given_name="Sam", family_name="Lee"
    )


def test_a_nurse_acknowledges_an_alert_with_a_note(page, live_server, cast, person):
    now = dt.datetime.now(dt.UTC)
    alert_raise(
        kind=AlertKind.CONSECUTIVE_MISSED,
        clinic=cast.clinic_a,
        service_user=person,
        cause_key="streak:browser",
        detail="2 consecutive sessions not taken: contact the service user.",
        now=now,
    )
    _log_in(page, live_server, cast.nurse.username)
    assert page.get_by_test_id("nav-alert-count").inner_text().startswith("1")
    nav_click(page, "Alerts")
    item = page.get_by_test_id("alert")
    assert "contact the service user" in item.inner_text()
    item.get_by_role("button", name="Acknowledge").click()
    assert "Say what was done about the alert" in page.locator("main").inner_text()
    page.get_by_test_id("alert").get_by_label("What was done").fill("Phoned: coming at 2")
    page.get_by_test_id("alert").get_by_role("button", name="Acknowledge").click()
    main = page.locator("main").inner_text()
    assert "Acknowledged: Consecutive doses not taken." in main
    assert "No open alerts." in main and "Phoned: coming at 2" in main
    assert page.get_by_test_id("nav-alert-count").count() == 0


def test_a_nurse_records_a_tox_screen_from_the_service_users_page(page, live_server, cast, person):
    _log_in(page, live_server, cast.nurse.username)
    page.goto(f"{live_server.url}/service-users/{person.pk}/")
    page.get_by_role("link", name="Record tox screen").click()
    page.get_by_role("button", name="Record tox screen").click()
    assert "Record at least one result" in page.locator("main").inner_text()
    page.get_by_label("Noscapine (street heroin marker)").select_option("positive")
    page.get_by_label("Cocaine (benzoylecgonine)").select_option("negative")
    page.get_by_role("button", name="Record tox screen").click()
    assert "positive for Noscapine (street heroin marker)" in page.locator("main").inner_text()
    assert "street heroin markers" in page.get_by_test_id("latest-tox").inner_text()
