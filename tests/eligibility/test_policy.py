import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from core.errors import RuleViolation
from eligibility.models import ClinicPolicy
from eligibility.selectors import policy_in_force
from eligibility.services import SlotSpec, policy_issue
from tests.factories import make_staff

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
OPENED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    from eligibility.services import clinic_create

    return clinic_create(name="Policy clinic", now=OPENED)


def test_the_opening_policy_has_domain_defaults(clinic):
    policy = policy_in_force(clinic=clinic, at=OPENED)
    assert [(s.code, s.opens_at, s.closes_at) for s in policy.slots.all()] == [
        ("AM", dt.time(8, 0), dt.time(11, 30)),
        ("PM", dt.time(13, 0), dt.time(17, 30)),
    ]
    assert policy.min_dose_interval_minutes == 240
    assert policy.observation_minutes == 20
    assert policy.topup_gap_minutes == 20
    assert policy.missed_warning_threshold == 2
    assert policy.retitration_threshold == 3
    assert policy.capacity == 15
    assert policy.max_daily_total_mg == Decimal("1000")
    assert policy.review_interval_days == 7
    assert policy.tox_interval_days == 7
    assert policy.methadone_uncollected_days == 3
    # No published threshold exists: unset until the clinical lead sets them.
    assert not policy.breath_thresholds_set


def test_policy_in_force_follows_effective_from(clinic):
    manager = make_staff(clinic)
    change_at = OPENED + dt.timedelta(days=30)
    evening = policy_issue(
        clinic=clinic,
        issued_by=manager,
        effective_from=change_at,
        reason="Evening slot requested by service users",
        now=OPENED,
        capacity=18,
        slots=[
            SlotSpec("AM", dt.time(8), dt.time(11, 30)),
            SlotSpec("PM", dt.time(13), dt.time(17, 30)),
            SlotSpec("EVE", dt.time(19), dt.time(21)),
        ],
    )
    before = policy_in_force(clinic=clinic, at=change_at - dt.timedelta(microseconds=1))
    assert before.capacity == 15
    assert [s.code for s in before.slots.all()] == ["AM", "PM"]
    at_change = policy_in_force(clinic=clinic, at=change_at)
    assert at_change == evening
    assert [s.code for s in at_change.slots.all()] == ["AM", "PM", "EVE"]
    # Values not given are carried over from the version before.
    assert at_change.retitration_threshold == before.retitration_threshold
    assert policy_in_force(clinic=clinic, at=change_at + dt.timedelta(days=365)) == evening


def test_there_is_no_policy_before_the_clinic_opened(clinic):
    with pytest.raises(RuleViolation) as refused:
        policy_in_force(clinic=clinic, at=OPENED - dt.timedelta(seconds=1))
    assert refused.value.code == "no_policy_in_force"


def test_a_policy_change_cannot_start_in_the_past(clinic):
    with pytest.raises(RuleViolation) as refused:
        policy_issue(
            clinic=clinic,
            issued_by=None,
            effective_from=OPENED + dt.timedelta(hours=1),
            reason="Backdated",
            now=OPENED + dt.timedelta(hours=2),
            capacity=20,
        )
    assert refused.value.field == "effective_from"
    assert ClinicPolicy.objects.filter(clinic=clinic).count() == 1


def test_a_policy_change_needs_a_reason(clinic):
    with pytest.raises(RuleViolation) as refused:
        policy_issue(
            clinic=clinic,
            issued_by=None,
            effective_from=OPENED,
            reason="  ",
            now=OPENED,
            capacity=20,
        )
    assert refused.value.code == "reason_required"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"capacity": 0}, "Capacity must be at least one place."),
        ({"max_daily_total_mg": Decimal("1000.01")}, "at most 1,000 mg"),
        ({"missed_warning_threshold": 4, "retitration_threshold": 3}, "no later than re-titration"),
        (
            {"breath_caution_threshold": Decimal("30"), "breath_withhold_threshold": Decimal("20")},
            "must not be above the withhold threshold",
        ),
    ],
)
def test_inconsistent_policy_values_are_refused_with_a_clear_message(clinic, values, message):
    with pytest.raises(RuleViolation) as refused:
        policy_issue(
            clinic=clinic,
            issued_by=None,
            reason="Change",
            effective_from=OPENED + dt.timedelta(days=1),
            now=OPENED,
            **values,
        )
    assert message in refused.value.message
    assert ClinicPolicy.objects.filter(clinic=clinic).count() == 1


def test_a_lower_daily_ceiling_exactly_at_1000_mg_is_accepted(clinic):
    policy = policy_issue(
        clinic=clinic,
        issued_by=None,
        reason="Ceiling",
        effective_from=OPENED + dt.timedelta(days=1),
        now=OPENED,
        max_daily_total_mg=Decimal("1000.00"),
    )
    assert policy.max_daily_total_mg == Decimal("1000.00")


@pytest.mark.parametrize(
    ("slots", "code"),
    [
        ([], "no_slots"),
        ([SlotSpec("AM", dt.time(11), dt.time(9))], "slot_window_empty"),
        (
            [SlotSpec("AM", dt.time(8), dt.time(12)), SlotSpec("PM", dt.time(11), dt.time(14))],
            "slots_overlap",
        ),
        (
            [SlotSpec("AM", dt.time(8), dt.time(9)), SlotSpec("am", dt.time(10), dt.time(11))],
            "slot_codes_repeat",
        ),
    ],
)
def test_bad_slot_windows_are_refused(clinic, slots, code):
    with pytest.raises(RuleViolation) as refused:
        policy_issue(
            clinic=clinic,
            issued_by=None,
            reason="Slots",
            slots=slots,
            effective_from=OPENED + dt.timedelta(days=1),
            now=OPENED,
        )
    assert refused.value.code == code


def test_the_database_refuses_an_inconsistent_policy_written_past_the_service(clinic):
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicPolicy.objects.create(
            clinic=clinic,
            effective_from=OPENED + dt.timedelta(days=2),
            reason="x",
            breath_caution_threshold=Decimal("40"),
            breath_withhold_threshold=Decimal("10"),
        )


@pytest.mark.parametrize(
    ("day", "am_opens_utc", "pm_closes_utc"),
    [
        # Last Sunday of March: clocks go forward at 01:00 UTC; 08:00 BST is 07:00 UTC.
        (
            dt.date(2026, 3, 29),
            dt.datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
            dt.datetime(2026, 3, 29, 16, 30, tzinfo=UTC),
        ),
        # The day before, still GMT.
        (
            dt.date(2026, 3, 28),
            dt.datetime(2026, 3, 28, 8, 0, tzinfo=UTC),
            dt.datetime(2026, 3, 28, 17, 30, tzinfo=UTC),
        ),
        # Last Sunday of October: clocks go back at 01:00 UTC; 08:00 GMT is 08:00 UTC.
        (
            dt.date(2026, 10, 25),
            dt.datetime(2026, 10, 25, 8, 0, tzinfo=UTC),
            dt.datetime(2026, 10, 25, 17, 30, tzinfo=UTC),
        ),
        (
            dt.date(2026, 10, 24),
            dt.datetime(2026, 10, 24, 7, 0, tzinfo=UTC),
            dt.datetime(2026, 10, 24, 16, 30, tzinfo=UTC),
        ),
    ],
)
def test_slot_windows_keep_local_times_across_uk_clock_changes(
    clinic, day, am_opens_utc, pm_closes_utc
):
    policy = policy_in_force(clinic=clinic, at=OPENED)
    am, pm = policy.slots.all()
    assert am.window_on(day, clinic.zone)[0] == am_opens_utc
    assert pm.window_on(day, clinic.zone)[1] == pm_closes_utc
    assert am.window_on(day, clinic.zone)[1] - am.window_on(day, clinic.zone)[0] == dt.timedelta(
        hours=3, minutes=30
    )


def test_the_clinic_day_of_an_instant_is_local(clinic):
    # 23:30 UTC on 28 June is 00:30 BST on 29 June.
    assert clinic.clinic_day_of(dt.datetime(2026, 6, 28, 23, 30, tzinfo=UTC)) == dt.date(
        2026, 6, 29
    )
    assert clinic.clinic_day_of(dt.datetime(2026, 12, 28, 23, 30, tzinfo=UTC)) == dt.date(
        2026, 12, 28
    )


def test_policy_in_force_defaults_to_now(clinic):
    later = OPENED + dt.timedelta(days=10)
    policy_issue(
        clinic=clinic,
        issued_by=None,
        reason="Capacity",
        effective_from=later,
        now=OPENED,
        capacity=12,
    )
    with time_machine.travel(later - dt.timedelta(minutes=1), tick=False):
        assert policy_in_force(clinic=clinic).capacity == 15
    with time_machine.travel(later, tick=False):
        assert policy_in_force(clinic=clinic).capacity == 12


def test_a_first_version_without_slots_is_refused_by_name():
    from eligibility.models import Clinic

    bare = Clinic.objects.create(name="No policy yet")
    with pytest.raises(RuleViolation) as refused:
        policy_issue(
            clinic=bare,
            issued_by=None,
            effective_from=OPENED,
            reason="Opening",
            now=OPENED,
        )
    assert (refused.value.code, refused.value.field) == ("slots_required", "slots")
    assert not ClinicPolicy.objects.filter(clinic=bare).exists()
