import pytest
from playwright.sync_api import expect

from tests.browser.navigation import log_in_here, nav_click
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username, password=PASSWORD):
    page.goto(f"{live_server.url}/")
    log_in_here(page, username, password)


def test_a_nurse_logs_in_sees_the_clinic_and_logs_out(page, live_server, cast, service_user_a):
    _log_in(page, live_server, cast.nurse.username)
    nav = page.get_by_role("navigation", name="Main")
    assert "Clinic A" in nav.inner_text()
    assert "Nurse" in page.get_by_test_id("who").inner_text()
    nav_click(page, "Service users")
    page.get_by_role("link", name="Ali").click()
    assert "Maintenance" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Audit history").count() == 0
    nav_click(page, "Log out")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def test_a_manager_reads_the_audit_history(page, live_server, cast, service_user_a):
    _log_in(page, live_server, cast.manager.username)
    page.goto(f"{live_server.url}/service-users/{service_user_a.pk}/")
    page.get_by_role("link", name="Audit history").click()
    table = page.locator("table").inner_text()
    assert "Test set-up" in table
    assert "titration" in table


def test_repeated_wrong_passwords_show_the_lockout(page, live_server, cast):
    for _ in range(4):
        _log_in(page, live_server, cast.nurse.username, "wrong-password")
        assert "Please enter a correct username and password" in page.locator("main").inner_text()
    _log_in(page, live_server, cast.nurse.username, "wrong-password")
    assert "Too many failed log-ins" in page.locator("main").inner_text()
    _log_in(page, live_server, cast.nurse.username)  # the right password, too late
    message = page.get_by_role("alert").inner_text()
    assert "locked on this device for 30 minutes" in message
