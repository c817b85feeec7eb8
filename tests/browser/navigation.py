"""How staff get around in the browser: logging in, and the main navigation as they
use it on a tablet, where it folds into a menu."""

import re

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.factories import PASSWORD, second_factor_code


def log_in(page, live_server, username: str) -> None:
    """Log in as staff do: the password, then the code from the authenticator app."""
    page.goto(f"{live_server.url}/login/")
    log_in_here(page, username)


def log_in_here(page, username: str, password: str = PASSWORD) -> None:
    """Fill the login form on this page, and the second step that follows it."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if "/two-factor/" in page.url and "/setup/" not in page.url:
        pass_second_factor(page, username)


def pass_second_factor(page, username: str) -> None:
    """The second step of logging in: the code the person's authenticator shows now."""
    user = get_user_model().objects.get(username=username)
    page.get_by_label("Code").fill(second_factor_code(user))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()


def opened_navigation(page):
    """The main navigation, its menu opened first when the screen is too narrow to
    show it whole, so that what it lacks is really not there."""
    nav = page.get_by_role("navigation", name="Main")
    toggler = nav.get_by_role("button", name="Menu")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
        # Bootstrap slides the menu open ("collapsing"), then marks it "show": a click
        # on a link still sliding can miss it.
        expect(page.locator("#main-nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
    return nav


def nav_click(page, name: str) -> None:
    """Follow a link (or press a button, such as Log out) of the main navigation,
    opening the menu first when the screen is too narrow to show it."""
    nav = opened_navigation(page)
    target = nav.get_by_role("link", name=name)
    if target.count() == 0:
        target = nav.get_by_role("button", name=name)
    target.first.click()
