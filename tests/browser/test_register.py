"""The controlled drugs register in Chromium (issue 7.6): a receipt, then a destruction
witnessed by an authorised witness typing their own password."""

import pytest

from dosing.register import register_section_add
from tests.browser.navigation import nav_click
from tests.browser.test_login import _log_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_receipt_and_a_witnessed_destruction(page, live_server, cast):
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100")
    _log_in(page, live_server, cast.nurse.username)
    nav_click(page, "CD register")
    page.get_by_role("link", name=str(section)).click()
    page.get_by_role("link", name="Record a receipt").click()
    page.get_by_label("Ampoules").fill("10")
    page.get_by_label("Supplier name").fill("Wholesale Pharma Ltd")
    page.get_by_label("Supplier address").fill("1 Depot Road, Leeds")
    page.get_by_label("Batch").fill("DM-2211")
    page.get_by_label("Expiry").fill("2027-09-30")
    page.get_by_role("button", name="Record a receipt").click()
    assert "Balance 10 ampoules (1000 mg)" in page.get_by_test_id("balance").inner_text()

    page.get_by_role("link", name="Record a destruction").click()
    page.get_by_label("Ampoules destroyed").fill("2")
    page.get_by_label("Note").fill("Two ampoules cracked in delivery")
    page.get_by_label("Witness's username").fill(cast.hca.username)
    page.get_by_label("Witness's password").fill(PASSWORD)
    page.get_by_role("button", name="Record a destruction").click()
    assert "an authorised witness is needed" in page.locator("main").inner_text()

    page.get_by_label("Witness's username").fill(cast.prescriber.username)
    page.get_by_label("Witness's password").fill(PASSWORD)
    page.get_by_role("button", name="Record a destruction").click()
    assert "Balance 8 ampoules (800 mg)" in page.get_by_test_id("balance").inner_text()
    rows = page.get_by_test_id("register").locator("tbody tr")
    assert rows.count() == 2
    assert "Destruction of stock" in rows.nth(1).inner_text()
