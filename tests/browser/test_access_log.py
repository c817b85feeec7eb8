"""A manager reads, on the service user's page, who looked at the record (issue 16.8);
a nurse's visit in her own browser shows there, and the nurse sees no such section."""

import pytest
from playwright.sync_api import expect

from tests.browser.navigation import log_in, nav_click

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_sees_the_nurses_visit_and_the_nurse_sees_no_log(
    page, browser, live_server, cast, service_user_a
):
    log_in(page, live_server, cast.nurse.username)
    nav_click(page, "Service users")
    page.get_by_role("link", name="Ali").click()
    page.get_by_role("link", name="Timeline").click()
    page.goto(f"{live_server.url}/service-users/{service_user_a.pk}/")
    expect(page.get_by_role("heading", name="Who looked at this record")).to_have_count(0)

    manager = browser.new_page()
    log_in(manager, live_server, cast.manager.username)
    manager.goto(f"{live_server.url}/service-users/{service_user_a.pk}/")
    log = manager.get_by_test_id("accesses")
    expect(log).to_contain_text(cast.nurse.get_full_name())
    expect(log.get_by_role("row").filter(has_text=cast.nurse.get_full_name())).to_have_count(3)
    expect(log.get_by_role("row").filter(has_text="Timeline")).to_have_count(1)
    manager.close()
