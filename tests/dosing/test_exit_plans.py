"""Exit plans: reducing schedules made of ordinary versions, cancellable until they
start, and the draft plans a service closure produces."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.errors import Conflict, RuleViolation
from dosing.exit_plans import (
    reducing_plan_activate,
    reducing_plan_cancel,
    reducing_plan_create,
    service_closure_record,
)
from dosing.models import Prescription, Purpose, ReducingPlan
from dosing.prescribing import prescription_cancel, prescription_issue
from dosing.selectors import prescription_in_force
from eligibility.models import Status
from tests.factories import TRANSFER, make_service_user

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(weeks=1)


@pytest.fixture
def person(cast):
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=NOW)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "100", "PM": "80"},
        **TRANSFER,
        reason="Transfer",
        now=NOW,
    )
    return person


def plan_for(person, prescriber, percent="10", switch_at=None, starts_at=NOW + WEEK):
    return reducing_plan_create(
        service_user=person,
        created_by=prescriber,
        weekly_reduction_percent=percent,
        starts_at=starts_at,
        switch_at=switch_at,
        reason="Planned exit",
        now=NOW,
    )


def doses_at(person, at):
    prescription = prescription_in_force(service_user=person, at=at)
    return (
        None
        if prescription is None
        else {d.slot_code: d.dose_mg for d in prescription.slot_doses.all()}
    )


def test_ten_percent_a_week_to_zero(cast, person):
    plan = plan_for(person, cast.prescriber, "10")
    versions = list(plan.versions.order_by("version"))
    assert len(versions) == 9  # 90% ... 10% of the starting dose
    assert all(v.purpose == Purpose.REDUCTION for v in versions)
    assert doses_at(person, NOW + WEEK - dt.timedelta(seconds=1)) == {
        "AM": Decimal("100"),
        "PM": Decimal("80"),
    }
    assert doses_at(person, NOW + WEEK) == {"AM": Decimal("90"), "PM": Decimal("72")}
    assert doses_at(person, NOW + 9 * WEEK) == {"AM": Decimal("10"), "PM": Decimal("8")}
    # The last reduced dose runs for a week, then the prescription ends.
    assert doses_at(person, NOW + 10 * WEEK) is None
    assert plan.state == ReducingPlan.State.ACTIVE


def test_doses_round_down_to_a_hundredth_of_a_mg(cast, person):
    plan_for(person, cast.prescriber, "33")
    assert doses_at(person, NOW + WEEK) == {"AM": Decimal("67"), "PM": Decimal("53.60")}
    assert doses_at(person, NOW + 3 * WEEK) == {"AM": Decimal("1"), "PM": Decimal("0.80")}


def test_a_plan_to_a_switch_date_ends_there(cast, person):
    switch = NOW + dt.timedelta(weeks=3, days=2)
    plan = plan_for(person, cast.prescriber, "10", switch_at=switch)
    assert plan.versions.count() == 3
    assert doses_at(person, switch - dt.timedelta(seconds=1)) == {
        "AM": Decimal("70"),
        "PM": Decimal("56"),
    }
    assert doses_at(person, switch) is None


@pytest.mark.parametrize(
    ("percent", "code"),
    [
        ("0", "reduction_percent_range"),
        ("100.01", "reduction_percent_range"),
        ("0.5", "plan_too_long"),
    ],
)
def test_unworkable_plans_are_refused_and_leave_nothing(cast, person, percent, code):
    with pytest.raises(RuleViolation) as refused:
        plan_for(person, cast.prescriber, percent)
    assert refused.value.code == code
    assert not ReducingPlan.objects.exists()
    assert Prescription.objects.count() == 1


def test_a_future_version_can_be_cancelled_and_never_takes_effect(cast, person):
    plan = plan_for(person, cast.prescriber, "10")
    week_two = plan.versions.order_by("version")[1]
    prescription_cancel(
        prescription=week_two, cancelled_by=cast.prescriber, reason="Holding the dose", now=NOW
    )
    # week two's 80% never applies: week one's 90% stays until week three's 70%
    assert doses_at(person, NOW + 2 * WEEK) == {"AM": Decimal("90"), "PM": Decimal("72")}
    assert doses_at(person, NOW + 3 * WEEK) == {"AM": Decimal("70"), "PM": Decimal("56")}
    week_two.refresh_from_db()
    assert week_two.cancellation.reason == "Holding the dose"
    with pytest.raises(Conflict):
        prescription_cancel(
            prescription=week_two, cancelled_by=cast.prescriber, reason="Again", now=NOW
        )


def test_a_version_in_effect_cannot_be_cancelled(cast, person):
    current = prescription_in_force(service_user=person, at=NOW)
    with pytest.raises(RuleViolation) as refused:
        prescription_cancel(prescription=current, cancelled_by=cast.prescriber, reason="x", now=NOW)
    assert refused.value.code == "version_already_started"


def test_stopping_a_plan_cancels_only_what_has_not_started(cast, person):
    plan = plan_for(person, cast.prescriber, "10")
    later = NOW + 2 * WEEK + dt.timedelta(hours=1)
    assert (
        reducing_plan_cancel(
            plan=plan, cancelled_by=cast.prescriber, reason="Staying in treatment", now=later
        )
        == 7
    )
    assert doses_at(person, NOW + 5 * WEEK) == {"AM": Decimal("80"), "PM": Decimal("64")}
    plan.refresh_from_db()
    assert plan.state == ReducingPlan.State.CANCELLED


def test_a_closure_drafts_a_plan_for_everyone_in_treatment(cast, person):
    waiting = make_service_user(cast.clinic_a, Status.WAITING, now=NOW)
    other = make_service_user(cast.clinic_b, Status.MAINTENANCE, now=NOW)
    closure = service_closure_record(
        clinic=cast.clinic_a,
        closes_on=dt.date(2027, 6, 1),
        recorded_by=cast.manager,
        reason="Funding ends",
        now=NOW,
    )
    drafts = ReducingPlan.objects.filter(closure=closure)
    assert [d.service_user for d in drafts] == [person]
    assert waiting not in [d.service_user for d in drafts] and other.pk != drafts[0].pk
    draft = drafts.get()
    assert draft.state == ReducingPlan.State.DRAFT
    assert Prescription.objects.count() == 1  # a draft issues nothing until activated
    assert draft.history.latest().history_user == cast.manager
    reducing_plan_activate(plan=draft, prescriber=cast.prescriber, now=NOW)
    # The plan reaches the closure date: the prescription ends at local midnight
    # starting that day (23:00 UTC, in British Summer Time).
    london = ZoneInfo("Europe/London")
    assert doses_at(person, dt.datetime(2027, 5, 31, 23, 59, tzinfo=london)) is not None
    assert doses_at(person, dt.datetime(2027, 6, 1, 0, 0, tzinfo=london)) is None


def test_six_months_notice_is_enough_and_a_day_less_is_flagged(cast):
    enough = service_closure_record(
        clinic=cast.clinic_a,
        closes_on=dt.date(2027, 5, 26),
        recorded_by=cast.manager,
        reason="Funding",
        now=NOW,
    )
    short = service_closure_record(
        clinic=cast.clinic_a,
        closes_on=dt.date(2027, 5, 25),
        recorded_by=cast.manager,
        reason="Funding",
        now=NOW,
    )
    assert (enough.short_notice, short.short_notice) == (False, True)


def test_a_closure_date_must_be_in_the_future(cast):
    with pytest.raises(RuleViolation) as refused:
        service_closure_record(
            clinic=cast.clinic_a,
            closes_on=dt.date(2026, 11, 26),
            recorded_by=cast.manager,
            reason="x",
            now=NOW,
        )
    assert refused.value.code == "closure_in_past"


def test_a_draft_is_activated_once(cast, person):
    closure = service_closure_record(
        clinic=cast.clinic_a,
        closes_on=dt.date(2027, 6, 1),
        recorded_by=cast.manager,
        reason="Funding",
        now=NOW,
    )
    draft = closure.plans.get()
    reducing_plan_activate(plan=draft, prescriber=cast.prescriber, now=NOW)
    with pytest.raises(Conflict):
        reducing_plan_activate(plan=draft, prescriber=cast.prescriber, now=NOW)
