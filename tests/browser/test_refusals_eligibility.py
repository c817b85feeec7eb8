"""Refusals in Chromium on the eligibility pages: the checklist a manager sets, and a
referral's assessment, decision and admission. Each refusal is shown beside the field
at fault, everything typed is still in the form, and the corrected form is saved."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from eligibility.models import Criterion, Status
from tests.browser.navigation import log_in, nav_click
from tests.eligibility.pathway_setup import accepted, assess, refer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCAL_MINUTE = "%Y-%m-%dT%H:%M"  # as a datetime-local input holds it


def _staff_name(user) -> str:
    return user.get_full_name() or user.username


def _told(page, text: str):
    """The message shown at the top of the page after a save."""
    return page.get_by_role("alert").filter(has_text=text)


def test_a_checklist_change_from_yesterday_is_refused_and_the_levels_chosen_stay(
    page, live_server, cast
):
    clinic_now = dt.datetime.now(cast.clinic_a.zone)
    yesterday = (clinic_now - dt.timedelta(days=1)).replace(hour=9, minute=0)
    in_an_hour = (clinic_now + dt.timedelta(hours=1)).strftime(LOCAL_MINUTE)
    log_in(page, live_server, cast.manager.username)
    nav_click(page, "Clinic policy")
    page.get_by_role("link", name="Eligibility checklist").click()
    expect(page.get_by_role("heading", name="Eligibility checklist: Clinic A")).to_be_visible()

    catchment = page.get_by_label(Criterion.CATCHMENT.label)
    catchment.select_option(label="Off")
    page.get_by_label(Criterion.STABLE_ON_METHADONE.label).select_option(label="Off")
    page.get_by_label("From", exact=True).fill(yesterday.strftime(LOCAL_MINUTE))
    page.get_by_label("Reason", exact=True).fill("The catchment rule ended with the merger")
    page.get_by_role("button", name="Save the checklist").click()

    expect(page.locator('[data-error-for="effective_from"]')).to_contain_text(
        "A policy change cannot start in the past"
    )
    # What was typed and chosen is all still there.
    expect(page.get_by_label("From", exact=True)).to_have_value(yesterday.strftime(LOCAL_MINUTE))
    expect(page.get_by_label("Reason", exact=True)).to_have_value(
        "The catchment rule ended with the merger"
    )
    expect(catchment).to_have_value("off")
    expect(page.get_by_label(Criterion.STABLE_ON_METHADONE.label)).to_have_value("off")
    expect(page.get_by_label(Criterion.INJECTING.label)).to_have_value("required")

    page.get_by_label("From", exact=True).fill(in_an_hour)
    page.get_by_role("button", name="Save the checklist").click()
    expect(page.get_by_role("heading", name="Clinic policy")).to_be_visible()
    expect(_told(page, "The eligibility checklist is changed from the time given.")).to_be_visible()
    newest = page.locator(".card").first
    expect(newest).to_contain_text("The catchment rule ended with the merger")
    expect(newest).to_contain_text("catchment: off")
    expect(newest).to_contain_text("stable_on_methadone: off")
    expect(newest).to_contain_text("injecting: required")


def test_an_assessment_missing_evidence_or_contradicting_the_age_is_refused_beside_the_answer(
    page, live_server, cast
):
    now = dt.datetime.now(dt.UTC)
    referral = refer(cast, now=now)
    name = referral.service_user.display_name
    log_in(page, live_server, cast.nurse.username)
    nav_click(page, "Referrals")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name="Eligibility assessment")).to_be_visible()

    def group(criterion):
        return page.get_by_role("group", name=criterion.label)

    def evidence(criterion):
        return page.get_by_label(f"Evidence: {criterion.label}")

    typed = {c: f"Seen for {c.value}" for c in Criterion if c != Criterion.CATCHMENT}
    for criterion in Criterion:
        unmet = criterion in (Criterion.ADULT, Criterion.STABLE_ON_METHADONE)
        group(criterion).get_by_label("Not met" if unmet else "Met", exact=True).check()
        if criterion in typed:
            evidence(criterion).fill(typed[criterion])
    page.get_by_label("Notes").fill("Seen with her key worker")
    page.get_by_role("button", name="Record assessment").click()

    expect(group(Criterion.CATCHMENT).get_by_role("alert")).to_contain_text(
        "Give the evidence for each answer. None for: Lives in the catchment area."
    )

    def every_answer_is_as_typed():
        for criterion in Criterion:
            unmet = criterion in (Criterion.ADULT, Criterion.STABLE_ON_METHADONE)
            answer = group(criterion).get_by_label("Not met" if unmet else "Met", exact=True)
            expect(answer).to_be_checked()
            if criterion in typed:
                expect(evidence(criterion)).to_have_value(typed[criterion])
        expect(page.get_by_label("Notes")).to_have_value("Seen with her key worker")

    every_answer_is_as_typed()
    expect(evidence(Criterion.CATCHMENT)).to_have_value("")

    # Born in 1980, so "not 18 or over" contradicts the date of birth.
    typed[Criterion.CATCHMENT] = "Lives in Harbour ward"
    evidence(Criterion.CATCHMENT).fill(typed[Criterion.CATCHMENT])
    page.get_by_role("button", name="Record assessment").click()
    expect(group(Criterion.ADULT).get_by_role("alert")).to_contain_text(
        f"The date of birth (01 May 1980) says {name} is 18 or over; the answer must agree."
    )
    expect(group(Criterion.ADULT)).to_have_attribute("aria-invalid", "true")  # told, not seen
    every_answer_is_as_typed()

    group(Criterion.ADULT).get_by_label("Met", exact=True).check()
    page.get_by_role("button", name="Record assessment").click()
    expect(_told(page, "Eligibility assessment recorded.")).to_be_visible()
    answers = page.get_by_test_id("answers")
    adult = answers.get_by_role("row").filter(has_text=Criterion.ADULT.label)
    expect(adult).to_contain_text("Met")
    expect(adult).not_to_contain_text("Not met")
    methadone_first = answers.get_by_role("row").filter(
        has_text=Criterion.STABLE_ON_METHADONE.label
    )
    expect(methadone_first).to_contain_text("Not met")
    expect(answers).to_contain_text("Lives in Harbour ward")


def test_accepting_with_an_advisory_criterion_unmet_asks_why_and_keeps_the_decision_as_typed(
    page, live_server, cast
):
    now = dt.datetime.now(dt.UTC)
    referral = refer(cast, now=now)
    assess(
        cast,
        referral,
        now=now,
        **{Criterion.STABLE_ON_METHADONE.value: (False, "Street heroin only")},
    )
    name = referral.service_user.display_name
    log_in(page, live_server, cast.prescriber.username)
    nav_click(page, "Referrals")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name="Decision")).to_be_visible()

    page.get_by_label("Accepted").check()
    page.get_by_label("Reason", exact=True).fill("Every required criterion is met")
    page.get_by_label("Waiting list priority").select_option(label="1: most urgent")
    page.get_by_role("button", name="Record decision").click()

    expect(page.locator('[data-error-for="advisory_reason"]')).to_contain_text(
        "Advisory criteria not met: Stable on methadone before starting. "
        "Write why you accept all the same."
    )
    expect(page.get_by_label("Accepted")).to_be_checked()
    expect(page.get_by_label("Reason", exact=True)).to_have_value("Every required criterion is met")
    expect(page.get_by_label("Waiting list priority")).to_have_value("1")

    page.get_by_label("Why accept although an advisory criterion is not met").fill(
        "Methadone first shuts out the people this treatment is for"
    )
    page.get_by_role("button", name="Record decision").click()
    expect(_told(page, f"{name}: accepted.")).to_be_visible()
    decision = page.get_by_test_id("decision")
    expect(decision).to_contain_text("Accepted by")
    expect(decision).to_contain_text("Every required criterion is met")
    expect(decision).to_contain_text(
        "Advisory criteria: Methadone first shuts out the people this treatment is for"
    )
    expect(decision).to_contain_text("priority 1")


def test_an_agreement_signed_tomorrow_is_refused_and_the_witness_chosen_stays(
    page, live_server, cast
):
    now = dt.datetime.now(dt.UTC)
    referral = accepted(cast, now=now)
    name = referral.service_user.display_name
    today = cast.clinic_a.clinic_day_of(now)
    tomorrow = today + dt.timedelta(days=1)
    log_in(page, live_server, cast.prescriber.username)
    nav_click(page, "Referrals")
    page.get_by_test_id("waiting-list").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name="Admission")).to_be_visible()

    page.get_by_label("Treatment agreement signed on").fill(tomorrow.isoformat())
    page.get_by_label("Witnessed by").select_option(label=_staff_name(cast.nurse))
    page.get_by_role("button", name="Admit").click()

    expect(page.locator('[data-error-for="agreement_signed_on"]')).to_contain_text(
        f"The agreement's date ({tomorrow:%d %b %Y}) is in the future; today is {today:%d %b %Y}."
    )
    expect(page.get_by_label("Treatment agreement signed on")).to_have_value(tomorrow.isoformat())
    expect(page.get_by_label("Witnessed by")).to_have_value(str(cast.nurse.pk))

    page.get_by_label("Treatment agreement signed on").fill(today.isoformat())
    page.get_by_role("button", name="Admit").click()
    expect(page).to_have_url(re.compile(rf"/service-users/{referral.service_user.pk}/$"))
    expect(
        _told(page, f"{name} admitted: titration starts with the first prescription.")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text(Status.TITRATION.label)
