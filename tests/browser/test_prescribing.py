import pytest

from eligibility.models import Status
from tests.factories import PASSWORD, make_service_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_prescriber_is_refused_above_15_mg_then_prescribes(page, live_server, cast):
    person = make_service_user(
        cast.clinic_a,
        Status.TITRATION,
        by=cast.prescriber,
        given_name="Robin",
        family_name="Starter",
    )
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(cast.prescriber.username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/service-users/{person.pk}/")
    page.get_by_role("link", name="Prescriptions").click()
    assert "No prescription is in force" in page.locator("main").inner_text()
    page.get_by_role("link", name="New prescription version").click()
    page.get_by_label("AM dose (mg)").fill("20")
    page.get_by_label("PM dose (mg)").fill("15")
    page.get_by_label("Reason").fill("Induction")
    page.get_by_role("button", name="Issue prescription").click()
    refusal = page.get_by_role("alert").filter(has_text="at most 15 mg")
    assert "AM asks for 20 mg" in refusal.inner_text()

    page.get_by_label("AM dose (mg)").fill("15")
    page.get_by_role("button", name="Issue prescription").click()
    assert "Prescription version 1 issued" in page.get_by_role("alert").first.inner_text()
    in_force = page.get_by_test_id("in-force").inner_text()
    assert "AM 15.00 mg" in in_force and "PM 15.00 mg" in in_force
