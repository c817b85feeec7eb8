"""The hard stops on an injection, shared by the dose itself (dosing.room) and by a
correction of it (dosing.amendments): a correction is as strict as the record it
corrects. Each check refuses with the numbers, naming the field to fix."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from core.errors import RuleViolation

from .effective import injections
from .mg import format_mg
from .models import (
    LOWER_LIMB_IV,
    SITES_FOR_ROUTE,
    Administration,
    Assessment,
    DoseSession,
    Observation,
    Route,
)
from .selectors import prescription_in_force

if TYPE_CHECKING:
    from eligibility.models import ClinicPolicy

    from .effective import Injection
    from .models import Prescription


def local_time(instant: dt.datetime) -> str:
    return f"{timezone.localtime(instant):%H:%M}"


def duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def check_injection(
    *, drawn: Decimal, injected: Decimal, route: str, site: str, risk_discussion: str
) -> None:
    """What an injection must be on its own: a site of its route, a lower-limb IV
    risk discussion, and no more injected than was drawn up."""
    if site not in SITES_FOR_ROUTE[Route(route)]:
        raise RuleViolation(
            f"{site} is not a site for {Route(route).label.lower()} injection.",
            code="site_not_for_route",
            field="site",
        )
    if route == Route.IV and site in LOWER_LIMB_IV and not (risk_discussion or "").strip():
        raise RuleViolation(
            "A lower-limb IV injection needs the risk discussion recorded.",
            code="risk_discussion_required",
            field="risk_discussion",
        )
    if injected > drawn:
        raise RuleViolation(
            f"Injected {format_mg(injected)} mg is more than the {format_mg(drawn)} mg drawn up.",
            code="injected_above_drawn",
            field="injected_mg",
        )


def check_time(session: DoseSession, injected_at: dt.datetime, now: dt.datetime) -> None:
    """Not in the future, inside the session's window, and not before the assessment
    that allowed the dose: a dose cannot be timed while the service user was deferred
    or not yet assessed."""
    check_not_future(injected_at, now)
    check_window(session, injected_at, field="injected_at")
    deciding = (
        Assessment.objects.filter(session=session).order_by("-sequence").only("assessed_at").first()
    )
    if deciding is not None and injected_at < deciding.assessed_at:
        raise RuleViolation(
            f"The injection cannot come before the assessment that allowed it, at "
            f"{local_time(deciding.assessed_at)}.",
            code="injection_before_assessment",
            field="injected_at",
        )


def check_not_future(injected_at: dt.datetime, now: dt.datetime) -> None:
    if injected_at > now:
        raise RuleViolation(
            "The injection time cannot be in the future.",
            code="injection_in_future",
            field="injected_at",
        )


def check_window(session: DoseSession, at: dt.datetime, *, field: str | None = None) -> None:
    if not (session.opens_at <= at < session.closes_at):
        raise RuleViolation(
            f"The {session.slot_code} window is {local_time(session.opens_at)} to "
            f"{local_time(session.closes_at)}; it is {local_time(at)}. Doses are given only "
            "inside the window.",
            code="outside_window",
            field=field,
        )


def prescription_for_injection(
    session: DoseSession,
    *,
    sequence: int,
    drawn: Decimal,
    injected: Decimal,
    route: str,
    injected_at: dt.datetime,
    first_injected_at: dt.datetime | None,
    shown_prescription: int | None = None,
) -> "Prescription":
    """The prescription version the injection is checked against: the one in force at
    the moment of the injection. Refuses a route it does not allow, a first injection
    above the slot's dose, and a top-up outside its allowance or too soon.

    ``shown_prescription`` is the version the nurse's screen showed: if another came
    into force since, the dose is refused, naming the new dose, so that what was shown
    is always what is enforced."""
    prescription = prescription_in_force(service_user=session.service_user, at=injected_at)
    if prescription is None:
        raise RuleViolation(
            "There is no prescription in force: no dose can be given.", code="no_prescription"
        )
    session_dose = prescription.dose_for(session.slot_code)
    if shown_prescription is not None and shown_prescription != prescription.pk:
        dose = f"{format_mg(session_dose)} mg" if session_dose is not None else "no dose"
        topup = prescription.topup_max_mg
        raise RuleViolation(
            f"The prescription changed since this page was opened: at "
            f"{local_time(injected_at)} version {prescription.version} is in force, with {dose} "
            f"for {session.slot_code}"
            + (f" and a top-up of up to {format_mg(topup)} mg" if topup else "")
            + ". Check the dose against it and record the injection again.",
            code="prescription_changed",
            field="injected_mg",
        )
    if route not in prescription.routes:
        raise RuleViolation(
            f"The prescription does not allow the {Route(route).label.lower()} route.",
            code="route_not_prescribed",
            field="route",
        )
    if session_dose is None:
        raise RuleViolation(
            f"The prescription has no {session.slot_code} dose.", code="no_dose_for_slot"
        )
    if drawn > prescription.max_daily_total_mg:
        # No single syringe holds more than a whole day's maximum: such a figure is a
        # slip of the keyboard, and the register would supply it.
        raise RuleViolation(
            f"{format_mg(drawn)} mg drawn up is more than the prescribed daily maximum of "
            f"{format_mg(prescription.max_daily_total_mg)} mg: check the amount.",
            code="drawn_above_daily_maximum",
            field="drawn_mg",
        )
    if sequence == 1 and injected > session_dose:
        raise RuleViolation(
            f"{format_mg(injected)} mg is above the prescribed {session.slot_code} dose of "
            f"{format_mg(session_dose)} mg.",
            code="dose_above_prescription",
            field="injected_mg",
        )
    if sequence == 2:
        _check_topup(prescription, first_injected_at, injected, injected_at, session.policy)  # type: ignore[arg-type]
    return prescription


def check_topup_gap(first_at: dt.datetime, topup_at: dt.datetime, policy: "ClinicPolicy") -> None:
    """A top-up comes at least the clinic's gap after the first injection, both as they
    now read: checked for the top-up, and again when either injection's time is
    corrected."""
    earliest = first_at + dt.timedelta(minutes=policy.topup_gap_minutes)
    if topup_at < earliest:
        raise RuleViolation(
            f"A top-up comes at least {policy.topup_gap_minutes} minutes after the first "
            f"injection ({local_time(first_at)}): not before {local_time(earliest)}.",
            code="topup_too_soon",
            field="injected_at",
        )


def _check_topup(
    prescription: "Prescription",
    first_at: dt.datetime,
    injected: Decimal,
    injected_at: dt.datetime,
    policy: "ClinicPolicy",
) -> None:
    if not prescription.topup_max_mg:
        raise RuleViolation(
            "The prescription allows no top-up.", code="topup_not_allowed", field="injected_mg"
        )
    check_topup_gap(first_at, injected_at, policy)
    if injected > prescription.topup_max_mg:
        raise RuleViolation(
            f"{format_mg(injected)} mg is above the top-up allowance of "
            f"{format_mg(prescription.topup_max_mg)} mg.",
            code="topup_above_allowance",
            field="injected_mg",
        )


def check_interval(session: DoseSession, injected_at: dt.datetime, policy: "ClinicPolicy") -> None:
    """No injection starts less than the minimum interval after the previous session's
    last injection, nor (for a correction, or a dose recorded late) less than the
    interval before the next session's first. Times are read as corrected."""
    gap = dt.timedelta(minutes=policy.min_dose_interval_minutes)
    others = Administration.objects.filter(session__service_user=session.service_user_id)
    before = others.filter(session__opens_at__lt=session.opens_at).order_by("-session__opens_at")
    after = others.filter(session__opens_at__gt=session.opens_at).order_by("session__opens_at")
    previous = _neighbour_times(before)
    if previous:
        last = max(previous)
        if injected_at < last + gap:
            raise RuleViolation(
                f"The last injection was at {local_time(last)}; at least "
                f"{duration(policy.min_dose_interval_minutes)} must pass. The next may start "
                f"at {local_time(last + gap)}.",
                code="interval_too_short",
                field="injected_at",
            )
    following = _neighbour_times(after)
    if following and min(following) < injected_at + gap:
        raise RuleViolation(
            f"The next session's injection was at {local_time(min(following))}; at least "
            f"{duration(policy.min_dose_interval_minutes)} must pass between them.",
            code="interval_too_short",
            field="injected_at",
        )


def _neighbour_times(ordered: QuerySet[Administration]) -> list[dt.datetime]:
    """The corrected injection times of the nearest session in that order."""
    nearest = ordered.values("session_id")[:1]
    return [i.injected_at for i in injections(Administration.objects.filter(session__in=nearest))]


def check_daily_total(
    session: DoseSession,
    *,
    injected: Decimal,
    prescription: "Prescription",
    excluding: Administration | None = None,
) -> None:
    """The day's injections, as corrected, stay within the prescribed daily maximum."""
    day = Administration.objects.filter(
        session__service_user=session.service_user_id, session__clinic_day=session.clinic_day
    )
    if excluding is not None:
        day = day.exclude(pk=excluding.pk)
    given = sum((i.injected_mg for i in injections(day)), Decimal(0))
    if given + injected > prescription.max_daily_total_mg:
        raise RuleViolation(
            f"{format_mg(injected)} mg would bring the day's total to "
            f"{format_mg(given + injected)} mg, above the prescribed daily maximum of "
            f"{format_mg(prescription.max_daily_total_mg)} mg.",
            code="daily_total_exceeded",
            field="injected_mg",
        )


def check_observation_times(
    session: DoseSession,
    *,
    injected: list["Injection"],
    outcome: str,
    naloxone_at: dt.datetime | None,
    observed_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """An observation's times against the session's injections as they now read
    (``injected``: dosing.effective.Injection): "no concerns" only once the observation
    time has passed since the last injection, and naloxone given after the first
    injection and not in the future. Checked when the observation is recorded, when it
    is corrected, and when an injection's time is corrected after it."""
    first = min(i.injected_at for i in injected)
    last = max(i.injected_at for i in injected)
    minutes = session.policy.observation_minutes
    until = last + dt.timedelta(minutes=minutes)
    if outcome == Observation.Outcome.NO_CONCERNS and observed_at < until:
        raise RuleViolation(
            f"Observation lasts at least {minutes} minutes after the last injection "
            f"({local_time(last)}): it can be completed from {local_time(until)}. If the "
            "service user has left, record that instead.",
            code="observation_too_soon",
            field="outcome",
        )
    if naloxone_at is not None and not (first <= naloxone_at <= now):
        raise RuleViolation(
            f"Naloxone is given after the injection ({local_time(first)}) and by now "
            f"({local_time(now)}): check its time.",
            code="naloxone_time_invalid",
            field="naloxone_at",
        )


def observation_check(
    *,
    outcome: str,
    details: str,
    over_sedation: bool,
    overdose: bool,
    naloxone_mg: Decimal | None,
    naloxone_at: dt.datetime | None,
    ambulance_called: bool,
) -> None:
    """The rules for a post-dose observation, as recorded or as corrected by
    amendment: any adverse sign makes it an adverse event, which is described, and
    naloxone has both its dose and its time. Its times against the injections are
    dosing.dose_rules.check_observation_times."""
    adverse = any([over_sedation, overdose, naloxone_mg, ambulance_called])
    # As the database's check (adverse_signs_are_an_adverse_event): "left early" too.
    if outcome != Observation.Outcome.ADVERSE_EVENT and adverse:
        raise RuleViolation(
            "Over-sedation, overdose, naloxone or an ambulance is an adverse "
            "event: record it as one.",
            code="adverse_event_marked_no_concerns",
            field="outcome",
        )
    if outcome == Observation.Outcome.ADVERSE_EVENT and not (details or "").strip():
        raise RuleViolation("Describe the adverse event.", code="details_required", field="details")
    if naloxone_mg and not naloxone_at:
        raise RuleViolation(
            "Record when naloxone was given.", code="naloxone_time_required", field="naloxone_at"
        )
    if naloxone_at and not naloxone_mg:
        raise RuleViolation(
            "Record how much naloxone was given, or clear its time.",
            code="naloxone_dose_required",
            field="naloxone_mg",
        )
