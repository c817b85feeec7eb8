"""A referral of someone in treatment at another clinic, in the browser (issue 16.4):
recorded like any other, saying nothing of the other clinic; a second registration
at the same clinic refused with what was typed kept; the prescriber sees the
"possible duplicate registration" alert and the nurse does not."""

import pytest
from playwright.sync_api import expect

from eligibility.models import Status
from tests.browser.navigation import log_in, nav_click
from tests.factories import make_service_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def refer(page, nhs="999 000 0018"):
    nav_click(page, "Referrals")
    page.get_by_role("link", name="New referral").click()
    page.get_by_label("NHS number").fill(nhs)
    page.get_by_label("Given name").fill("Jo")
    page.get_by_label("Family name").fill("Twice")
    page.get_by_label("Date of birth").fill("1985-04-01")
    page.get_by_label("Referred by").fill("Harbour drug service")
    page.get_by_label("Substance use history").fill("Injecting heroin for 15 years")
    page.get_by_label("Earlier treatment attempts").fill("Methadone three times")
    page.get_by_role("button", name="Record referral").click()


def test_a_referral_elsewhere_is_recorded_silently_and_only_prescribers_are_told(
    page, browser, live_server, cast
):
    make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, nhs_number="9990000018"
    )
    log_in(page, live_server, cast.nurse_b.username)
    refer(page)
    main = page.locator("main")
    expect(main).to_contain_text("Referral of Jo Twice recorded.")
    for said in ("Clinic A", "already", "duplicate"):
        assert said not in main.inner_text()
    nav_click(page, "Alerts")
    expect(page.locator("main")).not_to_contain_text("Possible duplicate registration")

    nurse_a = browser.new_page()
    log_in(nurse_a, live_server, cast.nurse.username)
    refer(nurse_a)
    expect(nurse_a.locator("[data-error-for=nhs_number]")).to_contain_text(
        "already registered at this clinic"
    )
    expect(nurse_a.get_by_label("Given name")).to_have_value("Jo")
    expect(nurse_a.get_by_label("Referred by")).to_have_value("Harbour drug service")
    expect(nurse_a.get_by_label("Earlier treatment attempts")).to_have_value(
        "Methadone three times"
    )
    nav_click(nurse_a, "Alerts")
    expect(nurse_a.locator("main")).not_to_contain_text("Possible duplicate registration")
    nurse_a.close()

    prescriber = browser.new_page()
    log_in(prescriber, live_server, cast.prescriber.username)
    nav_click(prescriber, "Alerts")
    expect(prescriber.locator("main")).to_contain_text("Possible duplicate registration")
    expect(prescriber.locator("main")).to_contain_text("pathway at Clinic B")
    prescriber.close()
