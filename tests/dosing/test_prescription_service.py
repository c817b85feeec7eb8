"""The prescribing hard stops, at their boundaries: exactly at the limit passes,
one step (0.01 mg, one second) over is refused, naming the limit."""

import datetime as dt
from decimal import Decimal

import pytest

from core.errors import RuleViolation
from core.roles import Role
from dosing.models import Prescription, Purpose
from dosing.prescribing import prescription_issue
from dosing.selectors import prescription_in_force
from eligibility.models import Status
from eligibility.services import policy_issue
from tests.factories import TRANSFER, make_clinic, make_service_user, make_staff

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clinic():
    return make_clinic(now=T0 - dt.timedelta(days=1))


@pytest.fixture
def prescriber(clinic):
    return make_staff(clinic, Role.PRESCRIBER)


@pytest.fixture
def starter(clinic, prescriber):
    return make_service_user(clinic, Status.TITRATION, by=prescriber, now=T0)


def issue(service_user, prescriber, doses, *, at=T0, **kwargs):
    return prescription_issue(
        service_user=service_user,
        prescriber=prescriber,
        slot_doses=doses,
        reason="Titration step",
        now=at,
        **kwargs,
    )


def refused(code, *args, **kwargs) -> RuleViolation:
    with pytest.raises(RuleViolation) as error:
        issue(*args, **kwargs)
    assert error.value.code == code, error.value.message
    return error.value


# New starter: first IV dose at most 15 mg, another 15 mg as a top-up.


def test_a_new_starters_first_dose_of_exactly_15_mg_is_accepted(starter, prescriber):
    prescription = issue(starter, prescriber, {"AM": "15", "PM": "15"}, topup_max_mg="15")
    assert prescription.purpose == Purpose.INDUCTION
    assert prescription.version == 1
    assert prescription.max_daily_total_mg == Decimal("60")


def test_a_new_starters_first_dose_above_15_mg_is_refused(starter, prescriber):
    error = refused("induction_dose_above_limit", starter, prescriber, {"AM": "15.01"})
    assert "at most 15 mg" in error.message and "15.01 mg" in error.message
    assert not Prescription.objects.exists()


def test_a_new_starters_top_up_above_15_mg_is_refused(starter, prescriber):
    refused("induction_topup_above_limit", starter, prescriber, {"AM": "10"}, topup_max_mg="15.01")


def test_a_documented_transfer_may_start_above_15_mg(starter, prescriber):
    prescription = issue(starter, prescriber, {"AM": "120", "PM": "120"}, **TRANSFER)
    assert prescription.documented_transfer


def test_the_new_starter_limit_is_for_intravenous_dosing(starter, prescriber):
    prescription = issue(starter, prescriber, {"AM": "30"}, route_iv=False, route_im=True)
    assert prescription.routes == ["im"]


# Titration: a session dose may rise by at most 50% over the previous one.


def test_a_rise_of_exactly_50_percent_is_accepted(starter, prescriber):
    issue(starter, prescriber, {"AM": "15", "PM": "15"})
    later = issue(starter, prescriber, {"AM": "22.5", "PM": "15"}, at=T0 + dt.timedelta(days=1))
    assert later.version == 2
    assert later.purpose == Purpose.TITRATION


def test_a_rise_of_more_than_50_percent_is_refused_naming_the_maximum(starter, prescriber):
    issue(starter, prescriber, {"AM": "15", "PM": "15"})
    error = refused(
        "titration_rise_above_limit",
        starter,
        prescriber,
        {"AM": "22.51"},
        at=T0 + dt.timedelta(days=1),
    )
    assert "most allowed is 22.5 mg" in error.message
    assert Prescription.objects.count() == 1


def test_in_maintenance_the_clinics_step_needs_a_clinical_reason_not_a_hard_stop(
    clinic, prescriber
):
    person = make_service_user(clinic, Status.TITRATION, by=prescriber, now=T0)
    issue(person, prescriber, {"AM": "15"})
    from eligibility.services import service_user_transition

    service_user_transition(
        service_user=person,
        to_status=Status.MAINTENANCE,
        changed_by=prescriber,
        reason="Stable",
        now=T0,
    )
    refused(
        "clinical_reason_required", person, prescriber, {"AM": "40"}, at=T0 + dt.timedelta(days=1)
    )
    later = issue(
        person,
        prescriber,
        {"AM": "40"},
        at=T0 + dt.timedelta(days=1),
        clinical_reason="Using on top",
    )
    assert later.purpose == Purpose.MAINTENANCE


# Daily total: never above 1,000 mg, nor the clinic's lower ceiling.


def test_a_daily_total_of_exactly_1000_mg_is_accepted(starter, prescriber):
    # Each injection within the clinic's 400 mg ceiling per injection.
    prescription = issue(
        starter,
        prescriber,
        {"AM": "400", "PM": "400"},
        topup_max_mg="100",
        **TRANSFER,
    )
    assert prescription.max_daily_total_mg == Decimal("1000")


def test_a_daily_total_above_1000_mg_is_refused(starter, prescriber):
    error = refused(
        "daily_total_above_ceiling",
        starter,
        prescriber,
        {"AM": "500", "PM": "500.01"},
        **TRANSFER,
    )
    assert "1,000 mg limit" in error.message and "most allowed is 1000 mg" in error.message


def test_top_ups_count_towards_the_daily_total(starter, prescriber):
    refused(
        "daily_total_above_ceiling",
        starter,
        prescriber,
        {"AM": "450", "PM": "450"},
        topup_max_mg="50.01",
        **TRANSFER,
    )


def test_a_stated_maximum_daily_total_above_1000_mg_is_refused(starter, prescriber):
    refused(
        "daily_total_above_ceiling",
        starter,
        prescriber,
        {"AM": "100"},
        max_daily_total_mg="1000.01",
        **TRANSFER,
    )


def test_the_clinics_lower_ceiling_is_a_hard_stop(clinic, starter, prescriber):
    policy_issue(
        clinic=clinic,
        issued_by=None,
        reason="Lower ceiling",
        effective_from=T0 - dt.timedelta(hours=1),
        now=T0 - dt.timedelta(hours=2),
        max_daily_total_mg=Decimal("600"),
    )
    assert issue(starter, prescriber, {"AM": "300", "PM": "300"}, **TRANSFER)
    error = refused(
        "daily_total_above_ceiling",
        starter,
        prescriber,
        {"AM": "300", "PM": "300.01"},
        **TRANSFER,
        at=T0 + dt.timedelta(minutes=1),
    )
    assert "clinic's daily ceiling" in error.message and "600 mg" in error.message


def test_session_doses_may_not_exceed_the_stated_daily_total(starter, prescriber):
    refused(
        "sessions_above_daily_total",
        starter,
        prescriber,
        {"AM": "10", "PM": "10"},
        max_daily_total_mg="19.99",
    )


# Doses and validity.


@pytest.mark.parametrize("dose", ["0", "-5", "0.00"])
def test_a_zero_or_negative_dose_is_refused(starter, prescriber, dose):
    refused("dose_not_positive", starter, prescriber, {"AM": dose})


@pytest.mark.parametrize("dose", ["ten", "NaN", "Infinity", ""])
def test_a_dose_that_is_not_a_number_is_refused(starter, prescriber, dose):
    refused("dose_not_a_number", starter, prescriber, {"AM": dose})


def test_a_dose_finer_than_a_hundredth_of_a_mg_is_refused(starter, prescriber):
    refused("dose_precision", starter, prescriber, {"AM": "10.005"})


def test_the_smallest_positive_dose_is_accepted(starter, prescriber):
    assert issue(starter, prescriber, {"AM": "0.01"})


def test_valid_to_must_be_after_valid_from(starter, prescriber):
    refused("valid_to_not_after_valid_from", starter, prescriber, {"AM": "10"}, valid_to=T0)
    one_second = issue(starter, prescriber, {"AM": "10"}, valid_to=T0 + dt.timedelta(seconds=1))
    assert one_second.valid_to == T0 + dt.timedelta(seconds=1)


def test_a_prescription_cannot_start_in_the_past(starter, prescriber):
    refused(
        "prescription_in_past",
        starter,
        prescriber,
        {"AM": "10"},
        valid_from=T0 - dt.timedelta(seconds=1),
    )


def test_an_unknown_slot_is_refused_naming_the_clinics_slots(starter, prescriber):
    error = refused("unknown_slot", starter, prescriber, {"EVE": "10"})
    assert "AM, PM" in error.message


def test_a_prescription_needs_a_route_a_dose_and_a_reason(starter, prescriber):
    refused("no_route", starter, prescriber, {"AM": "10"}, route_iv=False)
    refused("no_slot_doses", starter, prescriber, {})
    with pytest.raises(RuleViolation) as error:
        prescription_issue(
            service_user=starter, prescriber=prescriber, slot_doses={"AM": "10"}, reason=" ", now=T0
        )
    assert error.value.code == "reason_required"


@pytest.mark.parametrize("status", [Status.REFERRED, Status.WAITING, Status.EXITED])
def test_only_admitted_service_users_are_prescribed_for(clinic, prescriber, status):
    person = make_service_user(clinic, status, by=prescriber, now=T0)
    refused("not_in_treatment", person, prescriber, {"AM": "10"})


# Versions.


def test_versions_supersede_from_their_start_and_are_never_edited(starter, prescriber):
    first = issue(starter, prescriber, {"AM": "10", "PM": "10"})
    change_at = T0 + dt.timedelta(days=2)
    second = issue(starter, prescriber, {"AM": "15", "PM": "12"}, valid_from=change_at)
    assert (
        prescription_in_force(service_user=starter, at=change_at - dt.timedelta(seconds=1)) == first
    )
    in_force = prescription_in_force(service_user=starter, at=change_at)
    assert in_force == second
    assert in_force.dose_for("AM") == Decimal("15")
    first.refresh_from_db()
    assert first.valid_to is None  # the old version is untouched
    assert [p.version for p in starter.prescriptions.order_by("version")] == [1, 2]


def test_an_ended_prescription_is_not_in_force(starter, prescriber):
    issue(starter, prescriber, {"AM": "10"}, valid_to=T0 + dt.timedelta(days=3))
    assert prescription_in_force(service_user=starter, at=T0 + dt.timedelta(days=3)) is None
    assert prescription_in_force(service_user=starter, at=T0 + dt.timedelta(days=2))


def test_a_lapsed_prescription_still_counts_as_the_previous_one(starter, prescriber):
    issue(starter, prescriber, {"AM": "10"}, valid_to=T0 + dt.timedelta(days=1))
    later = issue(starter, prescriber, {"AM": "15"}, at=T0 + dt.timedelta(days=5))
    assert later.purpose == Purpose.TITRATION  # not a new starter again
    refused(
        "titration_rise_above_limit",
        starter,
        prescriber,
        {"AM": "22.51"},
        at=T0 + dt.timedelta(days=6),
    )


def test_a_retitration_prescription_starts_retitration(clinic, prescriber):
    person = make_service_user(clinic, Status.TITRATION, by=prescriber, now=T0)
    issue(person, prescriber, {"AM": "15"})
    from eligibility.services import service_user_walk

    service_user_walk(
        service_user=person,
        path=[Status.MAINTENANCE, Status.RETITRATION_REQUIRED],
        changed_by=None,
        reason="Three missed",
        now=T0,
    )
    prescription = issue(person, prescriber, {"AM": "7.5"}, at=T0 + dt.timedelta(days=1))
    person.refresh_from_db()
    assert prescription.purpose == Purpose.RETITRATION
    assert person.status == Status.RETITRATION
    assert person.status_changes.latest("pk").changed_by == prescriber
