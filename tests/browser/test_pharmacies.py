"""Pharmacies in Chromium (issue 18.4): a manager adds one after a name the clinic
already has is refused; changes a pharmacy's phone and stops using it, each refused
first for want of a reason with what was typed kept; a prescriber's methadone form
then no longer offers it; and a nurse has no way to the pages that change them. The
same through Django's test client is in tests/dosing/test_pharmacy_views.py."""

import re

import pytest
from playwright.sync_api import expect

from dosing.models import Pharmacy
from dosing.prescribing import pharmacy_add
from tests.browser.navigation import log_in, nav_click, opened_navigation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def high_street(cast):
    return pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")


def _told(page, text: str):
    """The message shown at the top of the page after a save."""
    return page.get_by_role("alert").filter(has_text=text)


def _open_pharmacies(page):
    nav_click(page, "Clinic policy")
    page.get_by_role("link", name="Pharmacies", exact=True).click()
    expect(page.get_by_role("heading", name="Pharmacies", exact=True)).to_be_visible()


def _row(page, name: str):
    return page.get_by_test_id("pharmacies").get_by_role("row").filter(has_text=name)


def test_a_manager_adds_a_pharmacy_after_a_name_the_clinic_already_has_is_refused(
    page, live_server, cast, high_street
):
    log_in(page, live_server, cast.manager.username)
    _open_pharmacies(page)
    expect(_row(page, "High St Pharmacy")).to_contain_text("1 High St")

    typed = {"Address": "3 Quay St", "ODS code": "FX123", "Phone": "01642 555 0101"}
    page.get_by_label("Name", exact=True).fill("High St Pharmacy")
    for label, value in typed.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Add the pharmacy").click()

    expect(page.locator('[data-error-for="name"]')).to_have_text(
        "The clinic already has a pharmacy named High St Pharmacy."
    )
    expect(page.get_by_label("Name", exact=True)).to_have_value("High St Pharmacy")
    for label, value in typed.items():
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    assert Pharmacy.objects.filter(clinic=cast.clinic_a).count() == 1

    page.get_by_label("Name", exact=True).fill("Harbour Pharmacy")
    page.get_by_role("button", name="Add the pharmacy").click()

    expect(_told(page, "Harbour Pharmacy added.")).to_be_visible()
    expect(page.locator("[data-error-for]")).to_have_count(0)
    harbour = _row(page, "Harbour Pharmacy")
    expect(harbour).to_have_count(1)
    expect(harbour.get_by_role("cell")).to_have_text(
        ["3 Quay St", "FX123", "01642 555 0101", "Yes"]
    )
    expect(_row(page, "High St Pharmacy")).to_have_count(1)
    added = Pharmacy.objects.get(name="Harbour Pharmacy")
    assert (added.clinic, added.active) == (cast.clinic_a, True)
    assert added.history.get().history_user == cast.manager


def test_a_manager_changes_a_phone_and_stops_using_a_pharmacy_each_only_with_a_reason(
    page, live_server, cast, high_street, service_user_a
):
    pharmacy_add(clinic=cast.clinic_a, name="Quay Pharmacy", address="5 Quay St")
    log_in(page, live_server, cast.manager.username)
    _open_pharmacies(page)
    page.get_by_role("link", name="High St Pharmacy").click()
    expect(page).to_have_url(re.compile(rf"/clinic/pharmacies/{high_street.pk}/$"))
    expect(page.get_by_role("heading", name="High St Pharmacy")).to_be_visible()

    phone = page.get_by_label("Phone", exact=True)
    why_change = page.get_by_label("Why they change")
    expect(page.get_by_label("Name", exact=True)).to_have_value("High St Pharmacy")
    expect(phone).to_have_value("")
    phone.fill("01642 555 0199")
    page.get_by_role("button", name="Save the details").click()

    expect(page.locator('[data-error-for="change-reason"]')).to_be_visible()
    expect(why_change).to_have_attribute("aria-invalid", "true")
    expect(phone).to_have_value("01642 555 0199")
    expect(page.get_by_label("Name", exact=True)).to_have_value("High St Pharmacy")
    expect(page.get_by_label("Address", exact=True)).to_have_value("1 High St")
    high_street.refresh_from_db()
    assert high_street.phone == ""

    why_change.fill("New phone line")
    page.get_by_role("button", name="Save the details").click()
    expect(_told(page, "The details of High St Pharmacy are changed.")).to_be_visible()
    expect(_row(page, "High St Pharmacy")).to_contain_text("01642 555 0199")
    high_street.refresh_from_db()
    assert high_street.phone == "01642 555 0199"
    assert high_street.history.first().history_change_reason == "New phone line"

    page.get_by_role("link", name="High St Pharmacy").click()
    expect(page.get_by_role("heading", name="Stop using this pharmacy")).to_be_visible()
    page.get_by_role("button", name="Stop using it").click()

    expect(page.locator('[data-error-for="stop-reason"]')).to_be_visible()
    expect(page.get_by_label("Why the clinic no longer uses it")).to_have_attribute(
        "aria-invalid", "true"
    )
    high_street.refresh_from_db()
    assert high_street.active

    page.get_by_label("Why the clinic no longer uses it").fill("Closed for good in March")
    page.get_by_role("button", name="Stop using it").click()
    expect(_told(page, "High St Pharmacy is no longer used by the clinic.")).to_be_visible()
    expect(_row(page, "High St Pharmacy")).to_contain_text("No longer used")
    expect(_row(page, "Quay Pharmacy")).to_contain_text("Yes")
    high_street.refresh_from_db()
    assert not high_street.active

    # A prescriber's methadone form offers only the pharmacies still in use.
    nav_click(page, "Log out")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    log_in(page, live_server, cast.prescriber.username)
    nav_click(page, "Service users")
    page.get_by_role("link", name=service_user_a.display_name).click()
    page.get_by_role("link", name="Prescriptions").click()
    page.get_by_role("link", name="Prescribe methadone").click()
    expect(page.get_by_role("heading", name="Overnight methadone")).to_be_visible()
    choices = page.get_by_label("Pharmacy").locator("option")
    expect(choices).to_have_text(["---------", "Quay Pharmacy"])


def test_a_nurse_has_no_way_to_change_a_pharmacy(page, live_server, cast, high_street):
    log_in(page, live_server, cast.nurse.username)
    navigation = opened_navigation(page)
    expect(navigation.get_by_role("link", name="Dosing room")).to_be_visible()
    expect(navigation.get_by_role("link", name="Pharmacies")).to_have_count(0)

    assert page.goto(f"{live_server.url}/clinic/pharmacies/{high_street.pk}/").status == 403
    expect(page.get_by_role("button", name="Save the details")).to_have_count(0)
    expect(page.get_by_role("button", name="Stop using it")).to_have_count(0)
    # The list, which every member of staff may read, offers no way to add or change.
    assert page.goto(f"{live_server.url}/clinic/pharmacies/").status == 200
    expect(_row(page, "High St Pharmacy")).to_have_count(1)
    expect(page.get_by_role("link", name="High St Pharmacy")).to_have_count(0)
    expect(page.get_by_role("button", name="Add the pharmacy")).to_have_count(0)
