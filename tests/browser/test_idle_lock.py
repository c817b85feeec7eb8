"""An unattended dosing-room PC locks (issue 16.7): the board's poll goes on every 30
seconds, but it is not activity, so 30 minutes after the nurse last did anything the
next poll takes the whole page to the login page, saying why.

The browser's clock is Playwright's, so the poll is fired when the test says; the
server's is time-machine's, shifted between polls.
"""

import datetime as dt
import re

import pytest
import time_machine
from playwright.sync_api import expect

from tests.browser.navigation import log_in, log_in_here

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NINE = dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.UTC)


def poll(page):
    """Let 30 seconds pass in the browser, and wait for the poll it fires."""
    with page.expect_response(
        lambda r: "/dosing/" in r.url and r.request.headers.get("x-automatic-request") == "1"
    ) as answer:
        page.clock.run_for(30_000)
    return answer.value


def test_the_board_locks_after_30_minutes_without_activity_however_often_it_polls(
    page, live_server, cast
):
    page.clock.install()
    with time_machine.travel(NINE, tick=True) as clock:
        log_in(page, live_server, cast.nurse.username)
        page.goto(f"{live_server.url}/dosing/")
        board = page.locator("#board")
        expect(board).to_be_visible()
        for _ in range(2):  # 24 minutes of polls: the board stays
            clock.shift(dt.timedelta(minutes=12))
            assert poll(page).status == 200
            expect(page).to_have_url(re.compile(r"/dosing/"))
        clock.shift(dt.timedelta(minutes=12))  # 36 minutes since the nurse did anything
        poll(page)
        page.wait_for_url(re.compile(r"/login/\?next=/dosing/"))
        expect(page.get_by_text("logged out after 30 minutes without activity")).to_be_visible()
        # Logging in again goes back to the board.
        log_in_here(page, cast.nurse.username)
        page.wait_for_url(re.compile(r"/dosing/"))
        expect(page.get_by_role("heading", name=re.compile("Dosing room"))).to_be_visible()
