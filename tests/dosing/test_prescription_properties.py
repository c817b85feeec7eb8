"""Hypothesis: whatever titration sequence a prescriber attempts, every prescription
that is accepted keeps within the limits, and every refusal leaves nothing behind."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import RuleViolation
from core.roles import Role
from dosing.models import (
    INDUCTION_FIRST_DOSE_MG,
    INDUCTION_TOPUP_MG,
    TITRATION_MAX_RISE,
    Prescription,
)
from dosing.prescribing import prescription_issue
from eligibility.models import ABSOLUTE_MAX_DAILY_MG, Status
from tests.factories import TRANSFER, make_clinic, make_service_user, make_staff

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

doses = st.decimals(min_value=Decimal("-5"), max_value=Decimal("700"), places=2)
step = st.fixed_dictionaries(
    {
        "AM": doses,
        "PM": st.one_of(st.none(), doses),
        "topup": st.one_of(
            st.none(), st.decimals(min_value=Decimal("0"), max_value=Decimal("60"), places=2)
        ),
        "transfer": st.booleans(),
    }
)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=8), ceiling=st.sampled_from(["1000", "400"]))
def test_generated_titration_sequences_never_break_the_limits(steps, ceiling):
    clinic = make_clinic(now=T0 - dt.timedelta(days=1), max_daily_total_mg=Decimal(ceiling))
    prescriber = make_staff(clinic, Role.PRESCRIBER)
    person = make_service_user(clinic, Status.TITRATION, by=prescriber, now=T0)
    accepted = []
    for day, attempt in enumerate(steps):
        slot_doses = {"AM": attempt["AM"]}
        if attempt["PM"] is not None:
            slot_doses["PM"] = attempt["PM"]
        before = Prescription.objects.count()
        try:
            accepted.append(
                prescription_issue(
                    service_user=person,
                    prescriber=prescriber,
                    slot_doses=slot_doses,
                    topup_max_mg=attempt["topup"] or None,
                    **(TRANSFER if attempt["transfer"] else {}),
                    reason="Generated step",
                    now=T0 + dt.timedelta(days=day),
                )
            )
        except RuleViolation:
            assert Prescription.objects.count() == before  # nothing half-written

    previous = None
    for prescription in accepted:
        given_doses = {d.slot_code: d.dose_mg for d in prescription.slot_doses.all()}
        topup = prescription.topup_max_mg or Decimal(0)
        assert all(dose > 0 for dose in given_doses.values())
        assert prescription.max_daily_total_mg <= min(ABSOLUTE_MAX_DAILY_MG, Decimal(ceiling))
        assert sum(given_doses.values()) + topup * len(given_doses) <= Decimal(ceiling)
        if previous is None and not prescription.documented_transfer:
            assert all(dose <= INDUCTION_FIRST_DOSE_MG for dose in given_doses.values())
            assert topup <= INDUCTION_TOPUP_MG
        if previous is not None:
            for code, dose in given_doses.items():
                if code in previous:
                    assert dose <= previous[code] * TITRATION_MAX_RISE
        previous = given_doses
