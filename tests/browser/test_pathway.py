"""The pathway in Chromium (issue 6.8): refer, assess with a required criterion
blocking, accept onto a full clinic's waiting list, and admit when a place frees."""

import datetime as dt

import pytest

from eligibility.models import Criterion, Status
from eligibility.pathway import service_user_admit, waiting_offers_make
from eligibility.services import policy_issue, service_user_transition
from tests.browser.navigation import nav_click
from tests.browser.test_login import _log_in
from tests.eligibility.pathway_setup import accepted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_refer_assess_wait_and_admit(page, live_server, cast):
    now = dt.datetime.now(dt.UTC)
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=now,
        reason="One place",
        capacity=1,
        now=now,
    )
    occupant = accepted(cast, now=now)
    service_user_admit(
        service_user=occupant.service_user,
        admitted_by=cast.prescriber,
        agreement_signed_on=now.date(),
        witness=cast.nurse,
        now=now,
    )

    _log_in(page, live_server, cast.prescriber.username)
    nav_click(page, "Referrals")
    assert "1 of 1 places taken" in page.get_by_test_id("places").inner_text()
    page.get_by_role("link", name="New referral").click()
    page.get_by_label("NHS number").fill("999 000 0018")
    page.get_by_label("Given name").fill("Robin")
    page.get_by_label("Family name").fill("Waiting")
    page.get_by_label("Date of birth").fill("1984-02-29")
    page.get_by_label("Referred by").fill("Harbour drug service")
    page.get_by_label("Substance use history").fill("Injecting heroin for 15 years")
    page.get_by_label("Earlier treatment attempts").fill("Methadone three times")
    page.get_by_role("button", name="Record referral").click()
    assert "Referral of Robin Waiting recorded." in page.locator("main").inner_text()

    def answer(unmet=()):
        for criterion in Criterion:
            group = page.get_by_role("group", name=criterion.label)
            group.get_by_label("Not met" if criterion.value in unmet else "Met", exact=True).check()
            group.get_by_label(f"Evidence: {criterion.label}").fill("At assessment")
        page.get_by_role("button", name="Record assessment").click()

    answer(unmet=["injecting"])
    page.get_by_label("Accepted").check()
    page.get_by_label("Reason", exact=True).fill("Keen to start")
    page.get_by_role("button", name="Record decision").click()
    main = page.locator("main").inner_text()
    assert "required criteria not met: Current injecting opioid use" in main

    answer()
    page.get_by_label("Accepted").check()
    page.get_by_label("Reason", exact=True).fill("Meets every criterion")
    page.get_by_role("button", name="Record decision").click()
    assert "Robin Waiting: accepted." in page.locator("main").inner_text()
    witness = cast.nurse.get_full_name() or cast.nurse.username
    page.get_by_label("Witnessed by").select_option(label=witness)
    page.get_by_role("button", name="Admit").click()
    assert "The clinic is full: 1 of 1 places taken" in page.locator("main").inner_text()

    service_user_transition(
        service_user=occupant.service_user,
        to_status=Status.EXITED,
        changed_by=cast.prescriber,
        reason="Planned exit",
        now=now,
    )
    waiting_offers_make(clinic=cast.clinic_a, now=now)
    page.goto(page.url.replace("/admit/", "/"))  # not reload: that would post again
    assert (
        "A place was offered to Robin Waiting" in page.get_by_test_id("admit-places").inner_text()
    )
    page.get_by_label("Witnessed by").select_option(label=witness)
    page.get_by_role("button", name="Admit").click()
    assert "Robin Waiting admitted" in page.locator("main").inner_text()
    assert Status.TITRATION.label in page.locator("main").inner_text()
