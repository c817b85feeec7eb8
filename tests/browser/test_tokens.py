"""Integration tokens in Chromium (issue 9.2): a manager issues one, copies its key
(shown once), and revokes it; the key works on the API only until then."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from dosing.prescribing import pharmacy_add
from tests.browser.navigation import nav_click
from tests.browser.test_login import _log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_issues_and_revokes_a_token(page, live_server, cast):
    pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    _log_in(page, live_server, cast.manager.username)
    nav_click(page, "Clinic policy")
    page.get_by_role("link", name="Integration tokens").click()
    page.get_by_label("Name").fill("High St Pharmacy")
    # Refused without its pharmacy: what was typed stays, and the field says why.
    page.get_by_role("button", name="Issue token").click()
    expect(page.get_by_label("Name")).to_have_value("High St Pharmacy")
    expect(page.get_by_label("Pharmacy")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Pharmacy").select_option(label="High St Pharmacy")
    page.get_by_role("button", name="Issue token").click()
    key = page.get_by_test_id("new-key").locator("code").inner_text()
    api = "/api/v1/methadone-collections/"
    assert Client().get(api, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    page.get_by_role("button", name="Revoke the token for High St Pharmacy").click()
    assert "no longer works" in page.get_by_role("alert").first.inner_text()
    assert "Revoked" in page.get_by_test_id("tokens").inner_text()
    assert "High St Pharmacy" in page.get_by_test_id("tokens").inner_text()
    assert key not in page.content()
    assert Client().get(api, HTTP_AUTHORIZATION=f"Token {key}").status_code in (401, 403)
