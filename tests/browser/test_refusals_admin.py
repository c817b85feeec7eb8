"""Refusals in Chromium on a manager's page for the whole clinic: recording the
service's closure. The refusal is shown beside the field at fault, everything typed
is still in the form, and the corrected form is saved."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.browser.navigation import log_in, nav_click

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _told(page, text: str):
    """A message shown at the top of the page after a save."""
    return page.get_by_role("alert").filter(has_text=text)


def test_a_closure_dated_today_is_refused_and_the_reason_typed_stays(
    page, live_server, cast, service_user_a
):
    today = cast.clinic_a.clinic_day_of(dt.datetime.now(dt.UTC))
    in_three_months = today + dt.timedelta(days=90)
    log_in(page, live_server, cast.manager.username)
    nav_click(page, "Service closure")
    expect(page.get_by_role("heading", name="Service closure")).to_be_visible()

    closes_on = page.get_by_label("The service closes on")
    reason = page.get_by_label("Reason", exact=True)
    closes_on.fill(today.isoformat())
    reason.fill("The council's funding ends")
    page.get_by_role("button", name="Record closure and draft exit plans").click()

    expect(page.locator('[data-error-for="closes_on"]')).to_contain_text(
        "The closure date must be in the future."
    )
    expect(closes_on).to_have_value(today.isoformat())
    expect(reason).to_have_value("The council's funding ends")

    closes_on.fill(in_three_months.isoformat())
    page.get_by_role("button", name="Record closure and draft exit plans").click()
    expect(
        _told(
            page,
            f"Closure on {in_three_months:%d %b %Y} recorded. "
            "1 draft exit plan awaits a prescriber.",
        )
    ).to_be_visible()
    expect(_told(page, "This is less than six months' notice")).to_be_visible()
    recorded = page.locator("main .alert").filter(has_text="Closes on")
    expect(recorded).to_contain_text(
        f"Closes on {in_three_months.day} {in_three_months:%b %Y}, recorded "
        f"{today.day} {today:%b %Y}"
    )
    expect(recorded).to_contain_text("The council's funding ends · 1 exit plan")
    expect(recorded).to_contain_text("less than six months' notice")
    # The form is empty again for the next closure: what was saved is not typed twice.
    expect(reason).to_have_value("")
