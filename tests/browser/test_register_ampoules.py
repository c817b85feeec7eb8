"""The register in ampoules in Chromium (issue 18.5): a nurse counts the stock in
ampoules and records ampoules opened and wasted, through each form's refusals, with
what was typed kept; the balance reads in ampoules and mg."""

import pytest
from playwright.sync_api import expect

from tests.browser.navigation import nav_click
from tests.browser.page_parts import error_beside, field, told
from tests.browser.test_login import _log_in
from tests.dosing.room_setup import register_stock
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def section(cast):
    """Clinic A's dose-supply section of 100 mg ampoules, 5 received."""
    return register_stock(cast, ampoules=5)


def _open(page, live_server, cast, section):
    _log_in(page, live_server, cast.nurse.username)
    nav_click(page, "CD register")
    expect(page.get_by_test_id("register-balances")).to_contain_text("5 ampoules (500 mg)")
    page.get_by_role("link", name=str(section)).click()
    expect(page.get_by_test_id("balance")).to_have_text("Balance 5 ampoules (500 mg)")


def test_a_stock_check_in_ampoules_refused_then_recorded(page, live_server, cast, section):
    _open(page, live_server, cast, section)
    page.get_by_role("link", name="Record a stock check").click()
    field(page, "Ampoules counted").fill("2.5")
    field(page, "Note").fill("Evening count")
    page.get_by_role("button", name="Record a stock check").click()
    expect(error_beside(page, "counted_ampoules")).to_be_visible()
    expect(field(page, "Note")).to_have_value("Evening count")
    field(page, "Ampoules counted").fill("4")
    page.get_by_role("button", name="Record a stock check").click()
    expect(
        told(page, "Entry 2 recorded: stock check. Balance 5 ampoules (500 mg).")
    ).to_be_visible()
    row = page.get_by_test_id("register").locator("tbody tr").nth(1)
    expect(row).to_contain_text("Counted 4 (400 mg): does not match")


def test_waste_of_more_ampoules_than_held_is_refused_keeping_what_was_typed(
    page, live_server, cast, section
):
    _open(page, live_server, cast, section)
    page.get_by_role("link", name="Record waste").click()
    field(page, "Ampoules opened and wasted").fill("6")
    field(page, "Note").fill("Dose drawn, then withheld")
    field(page, "Witness's username").fill(cast.hca.username)
    field(page, "Witness's password").fill(PASSWORD)
    page.get_by_role("button", name="Record waste").click()
    expect(page.locator("main")).to_contain_text(
        "it holds 5 ampoules (500 mg) and this takes out 6 ampoules (600 mg)"
    )
    expect(field(page, "Ampoules opened and wasted")).to_have_value("6")
    expect(field(page, "Note")).to_have_value("Dose drawn, then withheld")
    field(page, "Ampoules opened and wasted").fill("1")
    field(page, "Witness's password").fill(PASSWORD)
    page.get_by_role("button", name="Record waste").click()
    expect(page.get_by_test_id("balance")).to_have_text("Balance 4 ampoules (400 mg)")
    row = page.get_by_test_id("register").locator("tbody tr").nth(1)
    expect(row).to_contain_text("Waste 100 mg. Dose drawn, then withheld")
