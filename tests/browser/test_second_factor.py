"""Two-step login in the browser (issue 16.2): setting up an authenticator from the QR
code's key, a wrong code refused beside the field, a recovery code, and a manager's
reset on the Staff page."""

import datetime as dt
import os
import re
from base64 import b32decode

import pytest
import time_machine
from django_otp.oath import totp
from playwright.sync_api import expect

from core.roles import Role
from tests.browser.navigation import log_in, nav_click, pass_second_factor
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOT = os.environ.get("SETUP_SCREENSHOT")  # set to write the README's picture


def _password(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def _code_for_key_shown(page) -> str:
    key = page.get_by_test_id("setup-key").inner_text()
    return f"{totp(b32decode(key.replace(' ', ''))):06d}"


def test_a_new_member_of_staff_sets_up_two_step_login(page, live_server, cast):
    make_staff(cast.clinic_a, Role.NURSE, second_factor=False, username="newnurse")
    _password(page, live_server, "newnurse")
    expect(page.get_by_role("heading", name="Set up two-step login")).to_be_visible()
    expect(page.get_by_test_id("qr-code").locator("svg")).to_be_visible()
    # Only logging out is offered until the second factor is set up.
    expect(page.get_by_role("link", name="Service users")).to_have_count(0)
    key = page.get_by_test_id("setup-key").inner_text()
    if SCREENSHOT:
        page.set_viewport_size({"width": 1024, "height": 900})
        page.screenshot(path=SCREENSHOT, full_page=True)

    page.get_by_label("Code").fill("12345")
    page.get_by_role("button", name="Confirm and continue").click()
    error = page.locator('[data-error-for="code"]')
    expect(error).to_contain_text("That code is not right")
    expect(page.get_by_label("Code")).to_have_value("12345")  # what was typed stays
    assert page.get_by_test_id("setup-key").inner_text() == key  # the same QR code

    page.wait_for_timeout(1100)  # a wrong code makes the next wait a second
    page.get_by_label("Code").fill(_code_for_key_shown(page))
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_text("Two-step login is set up.")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    page.get_by_role("link", name=re.compile("I have kept them")).click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Service users")


def test_a_wrong_code_is_refused_and_the_right_one_goes_on_to_the_page_asked_for(
    page, live_server, cast, service_user_a
):
    with time_machine.travel(dt.datetime.now(dt.UTC)) as clock:
        page.goto(f"{live_server.url}/service-users/{service_user_a.pk}/")
        page.get_by_label("Username").fill(cast.nurse.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Two-step login")).to_be_visible()
        page.get_by_label("Code").fill("000000")
        page.get_by_role("button", name="Continue").click()
        expect(page.locator('[data-error-for="code"]')).to_contain_text("That code is not right")
        expect(page.get_by_label("Code")).to_have_value("000000")  # what was typed stays
        clock.shift(dt.timedelta(seconds=2))  # the wait after a wrong code
        pass_second_factor(page, cast.nurse.username)
    expect(page).to_have_url(re.compile(rf"/service-users/{service_user_a.pk}/$"))
    expect(page.locator("main")).to_contain_text("Ali")


def test_a_recovery_code_logs_in_and_says_how_many_are_left(page, live_server, cast):
    make_staff(cast.clinic_a, Role.NURSE, second_factor=False, username="newnurse")
    _password(page, live_server, "newnurse")
    page.get_by_label("Code").fill(_code_for_key_shown(page))
    page.get_by_role("button", name="Confirm and continue").click()
    first = page.get_by_test_id("recovery-codes").locator("li").first.inner_text()
    page.get_by_role("link", name=re.compile("I have kept them")).click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Service users")
    nav_click(page, "Log out")
    # Logged out before the login page is asked for again.
    expect(page.get_by_role("button", name="Log in")).to_be_visible()

    _password(page, live_server, "newnurse")
    page.get_by_label("Code").fill(first)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text(re.compile("You have 9 left"))).to_be_visible()
    nav_click(page, "Two-step login")
    expect(page.get_by_test_id("recovery-left")).to_have_text("9")


def test_a_manager_resets_a_nurses_second_factor_on_the_staff_page(page, live_server, cast):
    log_in(page, live_server, cast.manager.username)
    nav_click(page, "Staff")
    table = page.get_by_role("table", name="Staff")
    expect(table).to_contain_text("nurse_a")
    # No reset of one's own second factor.
    own = page.get_by_test_id("staff-manager_a").get_by_role("link", name=re.compile("Reset"))
    expect(own).to_have_count(0)
    page.get_by_test_id("staff-nurse_a").get_by_role("link", name=re.compile("Reset")).click()
    expect(page.get_by_role("heading", name=re.compile("Reset .* second factor"))).to_be_visible()
    page.get_by_role("button", name="Reset second factor").click()
    expect(page.get_by_role("alert").or_(page.get_by_role("status")).first).to_contain_text(
        "second factor is reset"
    )
    expect(page.get_by_test_id("staff-nurse_a")).to_contain_text("Not set up")


def test_the_staff_page_is_not_in_a_nurses_navigation(page, live_server, cast):
    log_in(page, live_server, cast.nurse.username)
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff")
    ).to_have_count(0)
    response = page.goto(f"{live_server.url}/staff/")
    assert response.status == 403


def test_a_manager_who_opens_their_own_reset_is_told_why_not_and_offered_no_button(
    page, live_server, cast
):
    log_in(page, live_server, cast.manager.username)
    own = cast.manager.memberships.get()
    page.goto(f"{live_server.url}/staff/{own.pk}/reset-second-factor/")
    expect(page.get_by_role("alert")).to_contain_text("You cannot reset your own second factor")
    expect(page.get_by_role("button", name="Reset second factor")).to_have_count(0)
    page.get_by_role("link", name="Back to staff").click()
    expect(page.get_by_role("table", name="Staff")).to_be_visible()
