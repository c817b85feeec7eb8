"""The staff pages in Chromium (issues 18.1 and 18.2): an installation administrator
opens a clinic after a weak first password is refused, and its new manager logs in to
set up their second factor; a manager invites a nurse after a refusal for want of a
role, and the nurse sets a password through the one-time link with no login; a
manager changes the HCA's roles and takes them off the staff, each refused first for
want of a reason with what was typed kept; and a manager gives a nurse a link to set a
new password, which stands refused for someone who also works in another clinic. The
same through Django's test client is in tests/eligibility/test_staff.py and
tests/eligibility/test_clinics.py."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from core.roles import Role
from eligibility.models import Clinic, StaffMembership
from eligibility.services import staff_member_add
from tests.browser.navigation import log_in, log_in_here, nav_click, opened_navigation
from tests.browser.page_parts import error_beside, field, told
from tests.factories import PASSWORD, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "kestrel-harbour-lantern"


def _open_staff(page):
    nav_click(page, "Staff")
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()


def _staff_row(page, username: str):
    return page.get_by_test_id(f"staff-{username}")


def _open_person(page, person):
    _open_staff(page)
    _staff_row(page, person.username).get_by_role("link", name=person.get_full_name()).click()
    expect(page.get_by_role("heading", name=person.get_full_name(), exact=True)).to_be_visible()


def _form_with(page, button: str):
    """The form on the page that this button submits."""
    return page.locator("form").filter(has=page.get_by_role("button", name=button, exact=True))


def test_an_installation_administrator_opens_a_clinic_whose_manager_then_logs_in(
    page, live_server, cast
):
    make_staff(None, Role.INSTALLATION_ADMIN, username="installer")
    log_in(page, live_server, "installer")
    nav_click(page, "Clinics")
    expect(page.get_by_role("heading", name="Clinics", exact=True)).to_be_visible()
    clinics = page.get_by_test_id("clinics")
    expect(clinics.get_by_role("row").filter(has_text="Clinic A")).to_have_count(1)

    typed = {
        "Clinic name": "Harbour Clinic",
        "Address": "12 Quay St\nWhitby",
        "Phone": "01947 600 600",
        "First manager's username": "harbour_manager",
        "First name": "Hana",
        "Last name": "Ruiz",
        "E-mail": "hana.ruiz@example.org",
    }
    for label, value in typed.items():
        field(page, label).fill(value)
    field(page, "Time zone").select_option("Europe/Dublin")
    field(page, "Places").fill("22")
    field(page, "First password").fill("short")
    page.get_by_role("button", name="Open the clinic").click()

    expect(error_beside(page, "manager_password")).to_contain_text("too short")
    expect(field(page, "First password")).to_have_attribute("aria-invalid", "true")
    for label, value in typed.items():
        expect(field(page, label)).to_have_value(value)
    expect(field(page, "Time zone")).to_have_value("Europe/Dublin")
    expect(field(page, "Places")).to_have_value("22")
    assert not Clinic.objects.filter(name="Harbour Clinic").exists()
    assert not get_user_model().objects.filter(username="harbour_manager").exists()

    field(page, "First password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Open the clinic").click()

    expect(told(page, "Harbour Clinic is open")).to_contain_text("Hana Ruiz is its manager")
    expect(page.locator("[data-error-for]")).to_have_count(0)
    harbour = clinics.get_by_role("row").filter(has_text="Harbour Clinic")
    expect(harbour).to_have_count(1)
    expect(harbour).to_contain_text("12 Quay St")
    expect(harbour).to_contain_text("01947 600 600")
    expect(harbour).to_contain_text("Europe/Dublin")
    expect(harbour).to_contain_text("Hana Ruiz")
    clinic = Clinic.objects.get(name="Harbour Clinic")
    assert (clinic.time_zone, clinic.phone) == ("Europe/Dublin", "01947 600 600")

    # The new manager has a password but no second factor yet: set it up first.
    nav_click(page, "Log out")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    log_in_here(page, "harbour_manager", NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/two-factor/setup/"))


def test_a_clinic_manager_has_no_way_to_the_clinics(page, live_server, cast):
    log_in(page, live_server, cast.manager.username)
    navigation = opened_navigation(page)
    expect(navigation.get_by_role("link", name="Staff")).to_be_visible()
    expect(navigation.get_by_role("link", name="Clinics")).to_have_count(0)
    assert page.goto(f"{live_server.url}/clinics/").status == 403
    expect(page.get_by_role("button", name="Open the clinic")).to_have_count(0)


def test_a_manager_invites_a_nurse_who_sets_a_password_through_the_link(
    page, browser, live_server, cast
):
    log_in(page, live_server, cast.manager.username)
    _open_staff(page)
    typed = {
        "Username": "nurse_new",
        "First name": "Nia",
        "Last name": "Okafor",
        "E-mail": "nia.okafor@example.org",
    }
    for label, value in typed.items():
        field(page, label).fill(value)
    page.get_by_role("button", name="Add to the staff").click()

    expect(error_beside(page, "roles")).to_have_text("Tick at least one role.")
    for label, value in typed.items():
        expect(field(page, label)).to_have_value(value)
    assert not get_user_model().objects.filter(username="nurse_new").exists()

    field(page, "Nurse").check()
    page.get_by_role("button", name="Add to the staff").click()

    expect(page.get_by_role("heading", name="Nia Okafor is invited")).to_be_visible()
    link = page.get_by_test_id("staff-link").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/welcome/[\w-]+/", link)
    page.get_by_role("link", name="Back to the staff").click()
    expect(_staff_row(page, "nurse_new")).to_contain_text("Nurse")
    expect(_staff_row(page, "nurse_new")).to_contain_text("Not set up")

    # The nurse, on their own device and not logged in, sets their password.
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    try:
        theirs = context.new_page()
        theirs.set_default_timeout(10_000)
        theirs.goto(link)
        expect(theirs.get_by_role("heading", name="Welcome to Clinic A")).to_be_visible()
        field(theirs, "New password").fill(NEW_PASSWORD)
        field(theirs, "The same again").fill("kestrel-harbour-lanterns")
        theirs.get_by_role("button", name="Set my password").click()

        expect(error_beside(theirs, "new_password2")).to_have_text(
            "The two passwords differ: type the same twice."
        )
        expect(field(theirs, "The same again")).to_have_attribute("aria-invalid", "true")
        assert not get_user_model().objects.get(username="nurse_new").has_usable_password()

        field(theirs, "New password").fill(NEW_PASSWORD)
        field(theirs, "The same again").fill(NEW_PASSWORD)
        theirs.get_by_role("button", name="Set my password").click()

        expect(told(theirs, "Your password is set, Nia.")).to_be_visible()
        expect(theirs.get_by_role("button", name="Log in")).to_be_visible()
        # The link worked once.
        assert theirs.goto(link).status == 410
        expect(theirs.get_by_role("heading", name="This link no longer works")).to_be_visible()
        theirs.goto(f"{live_server.url}/login/")
        log_in_here(theirs, "nurse_new", NEW_PASSWORD)
        expect(theirs).to_have_url(re.compile(r"/two-factor/setup/"))
        expect(theirs.get_by_role("heading", name="Set up two-step login")).to_be_visible()
    finally:
        context.close()


def test_a_manager_changes_the_hcas_roles_only_with_a_reason(page, live_server, cast):
    log_in(page, live_server, cast.manager.username)
    _open_person(page, cast.hca)
    roles = _form_with(page, "Save the roles")
    nurse, hca = field(roles, "Nurse"), field(roles, "Health-care assistant")
    expect(hca).to_be_checked()
    expect(nurse).not_to_be_checked()
    nurse.check()
    hca.uncheck()
    roles.get_by_role("button", name="Save the roles").click()

    expect(error_beside(page, "roles-reason")).to_be_visible()
    roles = _form_with(page, "Save the roles")
    expect(field(roles, "Reason")).to_have_attribute("aria-invalid", "true")
    expect(field(roles, "Nurse")).to_be_checked()
    expect(field(roles, "Health-care assistant")).not_to_be_checked()
    expect(field(roles, "Prescriber")).not_to_be_checked()
    membership = StaffMembership.objects.get(user=cast.hca, clinic=cast.clinic_a)
    assert [g.name for g in membership.roles.all()] == [Role.HCA.value]

    field(roles, "Reason").fill("Qualified as a nurse in May")
    roles.get_by_role("button", name="Save the roles").click()

    name = cast.hca.get_full_name()
    expect(told(page, f"{name}'s roles are changed.")).to_be_visible()
    expect(page.get_by_test_id("staff-history")).to_contain_text("Qualified as a nurse in May")
    _open_staff(page)
    expect(_staff_row(page, "hca_a").get_by_role("cell").nth(2)).to_have_text("Nurse")
    assert [g.name for g in membership.roles.all()] == [Role.NURSE.value]


def test_a_manager_takes_the_hca_off_the_staff_who_then_cannot_log_in(
    page, browser, live_server, cast
):
    log_in(page, live_server, cast.manager.username)
    _open_person(page, cast.hca)
    off = _form_with(page, "Take off the staff")
    off.get_by_role("button", name="Take off the staff").click()

    expect(error_beside(page, "off-reason")).to_be_visible()
    off = _form_with(page, "Take off the staff")
    expect(field(off, "Reason")).to_have_attribute("aria-invalid", "true")
    # The roles form beside it is not refused.
    expect(error_beside(page, "roles-reason")).to_have_count(0)
    assert StaffMembership.objects.get(user=cast.hca).deactivated_at is None

    field(off, "Reason").fill("Left the service at the end of the month")
    off.get_by_role("button", name="Take off the staff").click()

    name = cast.hca.get_full_name()
    expect(told(page, f"{name} is off the staff of Clinic A.")).to_be_visible()
    expect(_staff_row(page, "hca_a")).to_have_count(0)
    expect(page.get_by_test_id("off-staff")).to_contain_text(f"{name} (hca_a)")

    context = browser.new_context(viewport={"width": 1024, "height": 768})
    try:
        theirs = context.new_page()
        theirs.set_default_timeout(10_000)
        theirs.goto(f"{live_server.url}/login/")
        log_in_here(theirs, "hca_a")
        expect(theirs.get_by_role("alert")).to_contain_text(
            "Please enter a correct username and password"
        )
        expect(theirs.get_by_role("button", name="Log in")).to_be_visible()
        expect(theirs.get_by_role("navigation", name="Main")).to_have_count(0)
    finally:
        context.close()


def test_a_manager_gives_the_nurse_a_link_to_set_a_new_password(page, live_server, cast):
    log_in(page, live_server, cast.manager.username)
    _open_person(page, cast.nurse)
    expect(page.get_by_text("Their old password stops working at once.")).to_be_visible()
    # The person's page leads to a page that asks first; nothing changes until then.
    page.get_by_role("link", name="Give a link to set a new password").click()
    assert get_user_model().objects.get(pk=cast.nurse.pk).check_password(PASSWORD)
    page.get_by_role("button", name="Give a link to set a new password").click()

    name = cast.nurse.get_full_name()
    expect(page.get_by_role("heading", name=f"A new password for {name}")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Their old password no longer works.")
    link = page.get_by_test_id("staff-link").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/welcome/[\w-]+/", link)
    assert not get_user_model().objects.get(pk=cast.nurse.pk).has_usable_password()


def test_no_reset_link_for_a_nurse_who_also_works_in_a_clinic_the_manager_does_not_run(
    page, live_server, cast
):
    staff_member_add(clinic=cast.clinic_b, user=cast.nurse, roles=[Role.NURSE])
    log_in(page, live_server, cast.manager.username)
    _open_person(page, cast.nurse)

    name = cast.nurse.get_full_name()
    expect(page.get_by_test_id("reset-refused")).to_have_text(
        f"{name} also works in a clinic you do not manage: ask its manager, or the "
        "installation administrator."
    )
    expect(page.get_by_role("link", name="Give a link to set a new password")).to_have_count(0)
    # Their roles here may still be changed.
    expect(page.get_by_role("button", name="Save the roles")).to_be_visible()

    # The confirming page, reached by its address, refuses too, and gives no link.
    here = StaffMembership.objects.get(user=cast.nurse, clinic=cast.clinic_a)
    page.goto(f"{live_server.url}/staff/{here.pk}/reset-password/")
    page.get_by_role("button", name="Give a link to set a new password").click()
    expect(told(page, "also works in a clinic you do not manage")).to_be_visible()
    expect(page.get_by_test_id("staff-link")).to_have_count(0)
    assert get_user_model().objects.get(pk=cast.nurse.pk).has_usable_password()
