"""The prescription state machine (issue 15.7): random prescriptions, with and without
a clinical reason, issued through a service user's pathway (titration, maintenance,
a lapse to re-titration required, re-titration) as time goes by. After every step:

- a refusal wrote nothing, and left the status as it was once settled (a lapse in
  time since the last re-titration needs re-titration again);
- every version accepted keeps each injection within the clinic's ceiling per
  injection and the day within the daily ceiling;
- the first version after a lapse never exceeds the dose before it, and above half
  of it carries a clinical reason and its caution;
- during titration and re-titration no dose rises more than 50%;
- in maintenance, a rise above the clinic's step within its period carries a
  clinical reason and its caution.
"""

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from core.errors import RuleViolation
from core.roles import Role
from dosing.missed import settle_service_user
from dosing.models import TITRATION_MAX_RISE, Prescription
from dosing.prescribing import prescription_issue
from eligibility.models import ABSOLUTE_MAX_DAILY_MG, DEFAULT_MAX_INJECTION_MG, Status
from eligibility.services import service_user_transition
from tests.factories import TRANSFER, make_clinic, make_service_user, make_staff

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
STEP = Decimal("1.5")  # the clinic's default maintenance step, 50%
PERIOD = dt.timedelta(days=7)
_clinics = itertools.count()

doses = st.decimals(min_value=Decimal("1"), max_value=Decimal("480"), places=1)
# A multiple of the slot's latest dose: around half, the 50% steps, and above.
factors = st.tuples(
    st.just("x"),
    st.sampled_from([Decimal(f) for f in ("0.25", "0.5", "0.6", "1", "1.2", "1.5", "1.6", "3")]),
)


class Prescribing(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.now = T0
        clinic = make_clinic(f"Prescribing {next(_clinics)}", now=T0 - dt.timedelta(days=1))
        self.prescriber = make_staff(clinic, Role.PRESCRIBER)
        self.person = make_service_user(clinic, Status.TITRATION, by=self.prescriber, now=T0)
        self.accepted = []  # (version, status before, dose before the lapse)

    def status(self):
        self.person.refresh_from_db()
        return self.person.status

    def _move(self, to_status):
        service_user_transition(
            service_user=self.person,
            to_status=to_status,
            changed_by=self.prescriber,
            reason="Generated",
            now=self.now,
        )

    @rule(hours=st.integers(min_value=1, max_value=72))
    def time_passes(self, hours):
        self.now += dt.timedelta(hours=hours)

    @rule()
    def titration_completes(self):
        if self.status() in (Status.TITRATION, Status.RETITRATION) and self.accepted:
            self._move(Status.MAINTENANCE)

    @rule()
    def a_lapse(self):
        if self.status() in (Status.TITRATION, Status.MAINTENANCE, Status.RETITRATION):
            self._move(Status.RETITRATION_REQUIRED)

    @rule(
        am=doses | factors,
        pm=st.none() | doses | factors,
        topup=st.none() | st.decimals(min_value=Decimal("1"), max_value=Decimal("60"), places=1),
        transfer=st.booleans(),
        clinical_reason=st.sampled_from(["", "Agreed with the team"]),
    )
    def prescribe(self, am, pm, topup, transfer, clinical_reason):
        slot_doses = {"AM": self._dose(am, "AM")}
        if pm is not None:
            slot_doses["PM"] = self._dose(pm, "PM")
        # What the prescription will settle first (a lapse in time needs re-titration
        # too): the status it is decided on.
        settle_service_user(self.person.pk, now=self.now)
        status = self.status()
        before = Prescription.objects.filter(service_user=self.person).count()
        previous = self.accepted[-1][0] if self.accepted else None
        try:
            version = prescription_issue(
                service_user=self.person,
                prescriber=self.prescriber,
                slot_doses=slot_doses,
                topup_max_mg=topup,
                **(TRANSFER if transfer else {}),
                clinical_reason=clinical_reason,
                reason="Generated",
                now=self.now,
            )
        except RuleViolation:
            assert Prescription.objects.filter(service_user=self.person).count() == before
            assert self.status() == status
            return
        self.accepted.append((version, status, previous))
        self.now += dt.timedelta(minutes=1)

    def _dose(self, drawn, code) -> Decimal:
        """A dose drawn as mg, or as a multiple of the slot's latest dose, so that steps
        land on both sides of every limit."""
        if not isinstance(drawn, tuple):
            return drawn
        latest = self.accepted[-1][0].dose_for(code) if self.accepted else None
        return ((latest or Decimal("15")) * drawn[1]).quantize(Decimal("0.1"))

    @invariant()
    def every_accepted_version_keeps_its_limits(self):
        for n, (version, status, previous) in enumerate(self.accepted):
            given = {d.slot_code: d.dose_mg for d in version.slot_doses.all()}
            topup = version.topup_max_mg or Decimal(0)
            assert all(dose <= DEFAULT_MAX_INJECTION_MG for dose in given.values())
            assert topup <= DEFAULT_MAX_INJECTION_MG
            assert version.max_daily_total_mg <= ABSOLUTE_MAX_DAILY_MG
            if previous is None:
                continue
            before = {d.slot_code: d.dose_mg for d in previous.slot_doses.all()}
            if status == Status.RETITRATION_REQUIRED:
                above_half = False
                for code, dose in given.items():
                    prelapse = before.get(code, max(before.values()))
                    assert dose <= prelapse
                    above_half |= dose > prelapse / 2
                assert bool(version.caution) == above_half
                if above_half:
                    assert version.clinical_reason
            elif status in (Status.TITRATION, Status.RETITRATION):
                for code, dose in given.items():
                    if code in before:
                        assert dose <= before[code] * TITRATION_MAX_RISE
            elif status == Status.MAINTENANCE:
                # The lowest of each slot over the period before, from the versions
                # accepted in it and the one in force at its start.
                start = version.valid_from - PERIOD
                window = [
                    v for v, _, _ in self.accepted[:n] if start < v.valid_from <= version.valid_from
                ]
                in_force_at_start = [v for v, _, _ in self.accepted[:n] if v.valid_from <= start]
                window += in_force_at_start[-1:]
                for code, dose in given.items():
                    lows = [v.dose_for(code) for v in window if v.dose_for(code) is not None]
                    if lows and dose > (min(lows) * STEP).quantize(Decimal("0.01")):
                        assert version.caution and version.clinical_reason


def test_prescribing_through_the_pathway_keeps_every_limit(db):
    run_state_machine_as_test(
        Prescribing,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
