"""Staff change their own password in the browser (issue 16.7): each refusal says
what to fix and keeps nothing typed (a password is never sent back), and the new
password works at the next login while the session goes on."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.navigation import log_in, nav_click
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW = "a-new-long-passphrase-42"


def fill(page, old, new, again):
    page.get_by_label("Old password").fill(old)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("New password confirmation").fill(again)
    page.get_by_role("button", name="Change password").click()


def error_beside(page, name):
    return " ".join(page.locator(f"[data-error-for={name}]").all_inner_texts())


def test_a_nurse_changes_her_password_through_its_refusals(page, live_server, cast):
    log_in(page, live_server, cast.nurse.username)
    nav_click(page, "Change password")
    fill(page, "not-my-password", NEW, NEW)
    assert "old password was entered incorrectly" in error_beside(page, "old_password")
    expect(page.get_by_label("Old password")).to_have_value("")
    fill(page, PASSWORD, "short", "short")
    assert "too short" in error_beside(page, "new_password2")
    fill(page, PASSWORD, "12345678901234", "12345678901234")
    assert "entirely numeric" in error_beside(page, "new_password2")
    fill(page, PASSWORD, NEW, NEW + "x")
    assert "match" in error_beside(page, "new_password2")
    assert get_user_model().objects.get(pk=cast.nurse.pk).check_password(PASSWORD)
    fill(page, PASSWORD, NEW, NEW)
    expect(page.get_by_role("alert").first).to_contain_text("Your password is changed.")
    assert get_user_model().objects.get(pk=cast.nurse.pk).check_password(NEW)
    page.goto(f"{live_server.url}/dosing/")  # still logged in
    expect(page.get_by_role("heading", name="Dosing room", exact=False)).to_be_visible()
