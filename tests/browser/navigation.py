"""How staff get around in the browser: logging in, and the main navigation as they
use it on a tablet, where it folds into a menu."""

from tests.factories import PASSWORD


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def nav_click(page, name: str) -> None:
    """Follow a link (or press a button, such as Log out) of the main navigation,
    opening the menu first when the screen is too narrow to show it."""
    nav = page.get_by_role("navigation", name="Main")
    toggler = nav.get_by_role("button", name="Menu")
    if toggler.is_visible() and toggler.get_attribute("aria-expanded") != "true":
        toggler.click()
    target = nav.get_by_role("link", name=name)
    if target.count() == 0:
        target = nav.get_by_role("button", name=name)
    target.first.click()
