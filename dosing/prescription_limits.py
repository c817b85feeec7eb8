"""The limits a new prescription version must keep: the daily total and each
injection under the clinic's policy, a new starter's first doses, how far a dose may
rise in titration, re-titration and maintenance, that a reduction reduces, and the
evidence a transfer in brings."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.errors import RuleViolation
from eligibility.models import ABSOLUTE_MAX_DAILY_MG

from .mg import format_mg, parse_mg
from .models import (
    INDUCTION_FIRST_DOSE_MG,
    INDUCTION_TOPUP_MG,
    TITRATION_MAX_RISE,
    Prescription,
)
from .selectors import prescription_in_force

if TYPE_CHECKING:
    from eligibility.models import ClinicPolicy, ServiceUser


def check_daily_total(
    doses: dict[str, Decimal],
    topup: Decimal | None,
    max_daily_total_mg: Decimal | str | None,
    policy: "ClinicPolicy",
) -> None:
    ceiling = min(ABSOLUTE_MAX_DAILY_MG, policy.max_daily_total_mg)
    which = "1,000 mg limit" if ceiling == ABSOLUTE_MAX_DAILY_MG else "clinic's daily ceiling"
    sessions = sum(doses.values())
    if max_daily_total_mg not in (None, ""):
        stated = parse_mg(max_daily_total_mg, field="max_daily_total_mg")
        if stated > ceiling:
            raise RuleViolation(
                f"A maximum daily total of {format_mg(stated)} mg is above the {which}; "
                f"the most allowed is {format_mg(ceiling)} mg.",
                code="daily_total_above_ceiling",
                field="max_daily_total_mg",
            )
        if sessions > stated:
            raise RuleViolation(
                f"The session doses add up to {format_mg(sessions)} mg, more than the maximum "  # type: ignore[arg-type]
                f"daily total of {format_mg(stated)} mg.",
                code="sessions_above_daily_total",
                field="max_daily_total_mg",
            )
        return
    planned = sessions + (topup or 0) * len(doses)
    if planned > ceiling:
        raise RuleViolation(
            f"The day's doses{' with top-ups' if topup else ''} add up to {format_mg(planned)} mg, "  # type: ignore[arg-type]
            f"above the {which}; the most allowed is {format_mg(ceiling)} mg.",
            code="daily_total_above_ceiling",
            field="slot_doses",
        )


def transfer_evidence(
    *,
    service: str,
    last_dose_mg: Decimal | str | None,
    last_dose_on: dt.date | str | None,
    confirmed_by: str,
    today: dt.date,
) -> dict[str, Any]:
    """docs/domain.md: a documented transfer that bypasses the induction limit records its
    evidence. Refuses, naming what is missing; returns the fields to record."""
    service = (service or "").strip()
    confirmed_by = (confirmed_by or "").strip()
    missing = [
        (field, what)
        for field, what, value in (
            ("transfer_service", "the service they come from", service),
            ("transfer_last_dose_mg", "the last dose there (mg)", last_dose_mg),
            ("transfer_last_dose_on", "the day of that dose", last_dose_on),
            ("transfer_confirmed_by", "who confirmed it", confirmed_by),
        )
        if value in (None, "")
    ]
    if missing:
        raise RuleViolation(
            "A documented transfer records its evidence: "
            f"{', '.join(what for _, what in missing)}. Or leave the transfer unticked, and "
            "the new-starter limit (15 mg) applies.",
            code="transfer_evidence_required",
            field=missing[0][0],
        )
    for field, value in (("transfer_service", service), ("transfer_confirmed_by", confirmed_by)):
        if len(value) > 200:
            raise RuleViolation(
                f"Keep it to 200 characters; this is {len(value)}.",
                code="text_too_long",
                field=field,
            )
    if isinstance(last_dose_on, str):
        try:
            last_dose_on = dt.date.fromisoformat(last_dose_on)
        except ValueError:
            raise RuleViolation(
                "Give the day of the last dose as a date, e.g. 2026-02-09.",
                code="transfer_evidence_required",
                field="transfer_last_dose_on",
            ) from None
    if last_dose_on > today:  # type: ignore[operator]
        raise RuleViolation(
            f"The last dose at the other service cannot be after today ({today:%d %b %Y}).",
            code="transfer_date_in_future",
            field="transfer_last_dose_on",
        )
    return {
        "transfer_service": service,
        "transfer_last_dose_mg": parse_mg(last_dose_mg, field="transfer_last_dose_mg"),
        "transfer_last_dose_on": last_dose_on,
        "transfer_confirmed_by": confirmed_by,
    }


def check_per_injection(
    doses: dict[str, Decimal], topup: Decimal | None, policy: "ClinicPolicy"
) -> None:
    """The clinic's ceiling per injection (default 400 mg, the maximum single dose in
    the German diamorphine label): a hard stop for each slot's dose and the top-up."""
    ceiling = policy.max_injection_mg
    for code, dose in doses.items():
        if dose > ceiling:
            raise RuleViolation(
                f"{code} asks for {format_mg(dose)} mg in one injection, above the clinic's "
                f"ceiling per injection; the most allowed is {format_mg(ceiling)} mg.",
                code="injection_above_ceiling",
                field=f"slot_doses.{code}",
            )
    if topup is not None and topup > ceiling:
        raise RuleViolation(
            f"A top-up of {format_mg(topup)} mg is above the clinic's ceiling per injection; "
            f"the most allowed is {format_mg(ceiling)} mg.",
            code="injection_above_ceiling",
            field="topup_max_mg",
        )


def prelapse(previous: Prescription, code: str) -> Decimal:
    """The slot's dose before the lapse; a slot it did not dose is bounded by its
    highest."""
    dose = previous.dose_for(code)
    return dose if dose is not None else max(d.dose_mg for d in previous.slot_doses.all())


def check_restart(doses: dict[str, Decimal], previous: Prescription) -> list[str]:
    """After a lapse the first re-titration version may not exceed the dose before the
    lapse (a hard stop); above half of it, the suggestion, needs a clinical reason.
    Returns the cautions that need one."""
    cautions = []
    for code, dose in doses.items():
        before = prelapse(previous, code)
        if dose > before:
            raise RuleViolation(
                f"After a lapse, the first re-titration dose may not exceed the dose before "
                f"it: {code} was {format_mg(before)} mg, and {format_mg(dose)} mg was asked. "
                "Later versions rise from the restart by the titration step.",
                code="retitration_above_prelapse",
                field=f"slot_doses.{code}",
            )
        half = (before / 2).quantize(Decimal("0.01"))
        if dose > half:
            cautions.append(
                f"{code} restarts at {format_mg(dose)} mg, above half the dose before the "
                f"lapse ({format_mg(half)} mg of {format_mg(before)} mg)"
            )
    return cautions


def check_maintenance_rise(
    doses: dict[str, Decimal],
    person: "ServiceUser",
    valid_from: dt.datetime,
    policy: "ClinicPolicy",
) -> list[str]:
    """In maintenance, a slot's dose more than the clinic's step (default 50%) above its
    lowest in the clinic's period before (default 7 days) needs a clinical reason.
    Returns the cautions that need one."""
    since = valid_from - dt.timedelta(days=policy.maintenance_rise_days)
    # The versions in force at some time in the period: the one in force at its start,
    # and every one started since.
    recent = list(
        person.prescriptions.filter(
            cancellation__isnull=True, valid_from__gt=since, valid_from__lte=valid_from
        ).prefetch_related("slot_doses")
    )
    at_start = prescription_in_force(service_user=person, at=since)
    if at_start is not None:
        recent.append(at_start)
    step = Decimal(policy.maintenance_rise_percent)
    cautions = []
    for code, dose in doses.items():
        before = [p.dose_for(code) for p in recent if p.dose_for(code) is not None]
        if not before:
            continue
        lowest: Decimal = min(before)  # type: ignore[type-var, assignment]
        allowed = (lowest * (1 + step / 100)).quantize(Decimal("0.01"))
        if dose > allowed:
            cautions.append(
                f"{code} rises from {format_mg(lowest)} mg to {format_mg(dose)} mg within "
                f"{policy.maintenance_rise_days} days, more than the clinic's step of "
                f"{step}% (at most {format_mg(allowed)} mg without a clinical reason)"
            )
    return cautions


def check_new_starter(doses: dict[str, Decimal], topup: Decimal | None) -> None:
    for code, dose in doses.items():
        if dose > INDUCTION_FIRST_DOSE_MG:
            raise RuleViolation(
                "A new starter's first IV dose is at most "
                f"{format_mg(INDUCTION_FIRST_DOSE_MG)} mg; {code} asks for {format_mg(dose)} mg. "
                "Mark a documented transfer if the person comes on an established dose.",
                code="induction_dose_above_limit",
                field=f"slot_doses.{code}",
            )
    if topup is not None and topup > INDUCTION_TOPUP_MG:
        raise RuleViolation(
            f"A new starter's top-up is at most {format_mg(INDUCTION_TOPUP_MG)} mg if the first "
            f"dose is tolerated; {format_mg(topup)} mg was asked.",
            code="induction_topup_above_limit",
            field="topup_max_mg",
        )


def check_reduction(doses: dict[str, Decimal], previous: Prescription | None) -> None:
    if previous is None:
        raise RuleViolation("There is no prescription to reduce.", code="nothing_to_reduce")
    for code, dose in doses.items():
        before = previous.dose_for(code)
        if before is None or dose > before:
            raise RuleViolation(
                f"A reduction cannot raise or add a dose: {code} would be {format_mg(dose)} mg "
                f"against {format_mg(before) if before else 'none'} now.",
                code="reduction_rises",
                field=f"slot_doses.{code}",
            )


def check_rise(
    doses: dict[str, Decimal], previous: Prescription, last_given: Decimal | None
) -> None:
    """No session dose more than 50% above the previous one.

    "Previous" is both the last administered session dose and the previous
    version's dose for the slot; the stricter bound applies.
    """
    for code, dose in doses.items():
        bases = [b for b in (previous.dose_for(code), last_given) if b is not None]
        if not bases:
            continue
        before = min(bases)
        allowed = (before * TITRATION_MAX_RISE).quantize(Decimal("0.01"))
        if dose > allowed:
            given = " (the last dose given)" if before == last_given else ""
            raise RuleViolation(
                f"{code} rises from {format_mg(before)} mg{given} to {format_mg(dose)} mg, "
                f"more than 50%; during titration the most allowed is {format_mg(allowed)} mg.",
                code="titration_rise_above_limit",
                field=f"slot_doses.{code}",
            )
