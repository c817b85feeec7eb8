"""Prescribing: every write here checks the product's hard stops first."""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from core.errors import Conflict, RuleViolation, require_reason
from eligibility.models import ABSOLUTE_MAX_DAILY_MG, IN_TREATMENT, ServiceUser, Status
from eligibility.selectors import policy_in_force
from eligibility.services import service_user_transition

from .mg import format_mg, parse_mg
from .missed import settle_service_user, tolerance_renew
from .models import (
    INDUCTION_FIRST_DOSE_MG,
    INDUCTION_TOPUP_MG,
    TITRATION_MAX_RISE,
    Decision,
    MethadonePrescription,
    Observation,
    Pharmacy,
    Prescription,
    PrescriptionSlotDose,
    Purpose,
    ReducingPlan,
    Review,
)
from .selectors import last_administered_session_dose, latest_prescription, prescription_in_force

# Statuses in which a prescription may be issued, and the purpose it then has.
PRESCRIBABLE = {
    Status.TITRATION: Purpose.TITRATION,
    Status.MAINTENANCE: Purpose.MAINTENANCE,
    Status.RETITRATION_REQUIRED: Purpose.RETITRATION,
    Status.RETITRATION: Purpose.RETITRATION,
    Status.SUSPENDED: Purpose.MAINTENANCE,
}
RISING_PURPOSES = {Purpose.INDUCTION, Purpose.TITRATION, Purpose.RETITRATION}


def observation_check(
    *, outcome, details, over_sedation, overdose, naloxone_mg, naloxone_at, ambulance_called
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


def prescription_issue(
    *,
    service_user: ServiceUser,
    prescriber,
    slot_doses: Mapping[str, Decimal | str],
    reason: str,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    route_iv: bool = True,
    route_im: bool = False,
    topup_max_mg: Decimal | str | None = None,
    max_daily_total_mg: Decimal | str | None = None,
    documented_transfer: bool = False,
    transfer_service: str = "",
    transfer_last_dose_mg: Decimal | str | None = None,
    transfer_last_dose_on: dt.date | None = None,
    transfer_confirmed_by: str = "",
    purpose: Purpose | None = None,
    plan: ReducingPlan | None = None,
    clinical_reason: str = "",
    now: dt.datetime | None = None,
) -> Prescription:
    """Issue the next version of a service user's diamorphine prescription.

    Refuses, naming the limit and the allowed maximum: a dose of 0 mg or less, a
    validity window that ends before it starts, a daily total above 1,000 mg or
    the clinic's ceiling, a dose above the clinic's ceiling per injection, a new
    starter's dose above 15 mg, and during titration or re-titration a session dose
    more than 50% above the previous one. Issuing for someone who needs
    re-titration starts the re-titration: that first version may not exceed the dose
    before the lapse, and above half of it needs a written clinical reason. In
    maintenance, a rise above the clinic's step needs one too (DOMAIN.md).
    """
    now = now or timezone.now()
    valid_from = valid_from or now
    reason = require_reason(reason, "Give a reason for this prescription.")
    _check_window(valid_from, valid_to, now)
    if not (route_iv or route_im):
        raise RuleViolation(
            "Allow at least one route: intravenous or intramuscular.",
            code="no_route",
            field="routes",
        )
    if not slot_doses:
        raise RuleViolation(
            "Prescribe a dose for at least one slot.", code="no_slot_doses", field="slot_doses"
        )
    doses = {
        code.strip().upper(): parse_mg(dose, field=f"slot_doses.{code}")
        for code, dose in slot_doses.items()
    }
    topup = None if topup_max_mg in (None, "") else parse_mg(topup_max_mg, field="topup_max_mg")

    settle_service_user(service_user.pk, now=now)
    with transaction.atomic():
        # Lock the person: version numbers, the status read and its change must
        # not interleave with another prescriber or the missed-dose scan.
        locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        status = Status(locked.status)
        if status not in PRESCRIBABLE:
            raise RuleViolation(
                f"{locked.display_name} is not in treatment (status: {status.label}). "
                "Prescriptions are for admitted service users.",
                code="not_in_treatment",
                field="service_user",
            )
        policy = policy_in_force(clinic=locked.clinic, at=valid_from)
        slot_codes = [slot.code for slot in policy.slots.all()]
        unknown = sorted(set(doses) - set(slot_codes))
        if unknown:
            raise RuleViolation(
                f"The clinic has no slot {', '.join(unknown)}; its slots are "
                f"{', '.join(slot_codes)}.",
                code="unknown_slot",
                field="slot_doses",
            )

        previous = latest_prescription(service_user=locked, at=valid_from)
        if purpose == Purpose.REDUCTION:
            _check_reduction(doses, previous)
        else:
            purpose = PRESCRIBABLE[status] if previous else Purpose.INDUCTION
        _check_daily_total(doses, topup, max_daily_total_mg, policy)
        _check_per_injection(doses, topup, policy)
        daily_total = (
            parse_mg(max_daily_total_mg, field="max_daily_total_mg")
            if max_daily_total_mg not in (None, "")
            else sum(doses.values()) + (topup or 0) * len(doses)
        )
        evidence = {}
        if purpose == Purpose.INDUCTION and documented_transfer:
            evidence = _transfer_evidence(
                service=transfer_service,
                last_dose_mg=transfer_last_dose_mg,
                last_dose_on=transfer_last_dose_on,
                confirmed_by=transfer_confirmed_by,
                today=locked.clinic.clinic_day_of(now),
            )
        if purpose == Purpose.INDUCTION and route_iv and not documented_transfer:
            _check_new_starter(doses, topup)
        cautions = []
        if status == Status.RETITRATION_REQUIRED and previous is not None:
            # The first version after a lapse: bounded by the dose before it.
            cautions = _check_restart(doses, previous)
        elif purpose in RISING_PURPOSES and previous is not None:
            _check_rise(doses, previous, last_administered_session_dose(service_user=locked))
        elif purpose == Purpose.MAINTENANCE and previous is not None:
            cautions = _check_maintenance_rise(doses, locked, valid_from, policy)
        clinical_reason = (clinical_reason or "").strip()
        if cautions and not clinical_reason:
            raise RuleViolation(
                f"{'; '.join(cautions)}. Write the clinical reason for this dose, or "
                "prescribe within the limit.",
                code="clinical_reason_required",
                field="clinical_reason",
            )

        version = _next_version(locked.prescriptions)
        prescription = _create_version(
            Prescription,
            service_user=locked,
            version=version,
            purpose=purpose,
            route_iv=route_iv,
            route_im=route_im,
            topup_max_mg=topup,
            max_daily_total_mg=daily_total,
            valid_from=valid_from,
            valid_to=valid_to,
            documented_transfer=documented_transfer,
            prescriber=prescriber,
            reason=reason,
            clinical_reason=clinical_reason,
            caution="; ".join(cautions),
            **evidence,
            issued_at=now,
            plan=plan,
        )
        PrescriptionSlotDose.objects.bulk_create(
            PrescriptionSlotDose(prescription=prescription, slot_code=code, dose_mg=dose)
            for code, dose in doses.items()
        )
        if status == Status.RETITRATION_REQUIRED:
            # DOMAIN.md: a re-titration prescription restarts the count at 0; sessions
            # whose window closes after it count again (dosing.missed._streak).
            # The transition's history row records it with the status.
            ServiceUser.objects.filter(pk=locked.pk).update(
                count_restarted_at=now, consecutive_not_taken=0
            )
            tolerance_renew(locked.pk, since=now, days=policy.retitration_days)
            service_user_transition(
                service_user=locked,
                to_status=Status.RETITRATION,
                changed_by=prescriber,
                reason=f"Re-titration prescription v{version}: {reason}",
                now=now,
            )
    return prescription


def _check_window(valid_from: dt.datetime, valid_to: dt.datetime | None, now: dt.datetime):
    if valid_from < now:
        raise RuleViolation(
            "A prescription cannot start in the past. Choose a start time from now on.",
            code="prescription_in_past",
            field="valid_from",
        )
    if valid_to is not None and valid_to <= valid_from:
        raise RuleViolation(
            f"The prescription must end after it starts: it starts "
            f"{timezone.localtime(valid_from):%d %b %Y %H:%M} but ends "
            f"{timezone.localtime(valid_to):%d %b %Y %H:%M}.",
            code="valid_to_not_after_valid_from",
            field="valid_to",
        )


def _lock_prescribable(service_user: ServiceUser) -> ServiceUser:
    """Lock the person: version numbers, the status read and its change must not
    interleave with another prescriber or the missed-dose scan."""
    locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
    if locked.status not in PRESCRIBABLE:
        raise RuleViolation(
            f"{locked.display_name} is not in treatment (status: {locked.get_status_display()})."
            " Prescriptions are for admitted service users.",
            code="not_in_treatment",
            field="service_user",
        )
    return locked


def _next_version(versions) -> int:
    return (versions.aggregate(v=Max("version"))["v"] or 0) + 1


def _create_version(model, **fields):
    """Insert a version; the unique (service user, version) constraint turns a race
    between two prescribers into a clear 409 rather than two versions."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)
    except IntegrityError as error:
        raise Conflict(
            "Another prescription for this person was just issued. Reload and "
            "check it before issuing another.",
            code="prescription_race",
        ) from error


def methadone_prescribe(
    *,
    service_user: ServiceUser,
    prescriber,
    nightly_dose_mg: Decimal | str,
    pharmacy: Pharmacy,
    reason: str,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> MethadonePrescription:
    """The next version of a service user's overnight oral methadone."""
    now = now or timezone.now()
    valid_from = valid_from or now
    reason = require_reason(reason, "Give a reason for this methadone prescription.")
    _check_window(valid_from, valid_to, now)
    # The nightly dose's column holds 4 digits before the point.
    dose = parse_mg(nightly_dose_mg, field="nightly_dose_mg", maximum=Decimal("9999.99"))
    with transaction.atomic():
        locked = _lock_prescribable(service_user)
        if pharmacy.clinic_id != locked.clinic_id:
            raise RuleViolation(
                "Choose one of the clinic's own pharmacies.",
                code="pharmacy_elsewhere",
                field="pharmacy",
            )
        return _create_version(
            MethadonePrescription,
            service_user=locked,
            version=_next_version(locked.methadone_prescriptions),
            nightly_dose_mg=dose,
            pharmacy=pharmacy,
            valid_from=valid_from,
            valid_to=valid_to,
            prescriber=prescriber,
            reason=reason,
            issued_at=now,
        )


def _check_daily_total(doses, topup, max_daily_total_mg, policy) -> None:
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
                f"The session doses add up to {format_mg(sessions)} mg, more than the maximum "
                f"daily total of {format_mg(stated)} mg.",
                code="sessions_above_daily_total",
                field="max_daily_total_mg",
            )
        return
    planned = sessions + (topup or 0) * len(doses)
    if planned > ceiling:
        raise RuleViolation(
            f"The day's doses{' with top-ups' if topup else ''} add up to {format_mg(planned)} mg, "
            f"above the {which}; the most allowed is {format_mg(ceiling)} mg.",
            code="daily_total_above_ceiling",
            field="slot_doses",
        )


def _transfer_evidence(*, service, last_dose_mg, last_dose_on, confirmed_by, today) -> dict:
    """DOMAIN.md: a documented transfer that bypasses the induction limit records its
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
    if last_dose_on > today:
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


def _check_per_injection(doses, topup, policy) -> None:
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


def _prelapse(previous: Prescription, code: str) -> Decimal:
    """The slot's dose before the lapse; a slot it did not dose is bounded by its
    highest."""
    dose = previous.dose_for(code)
    return dose if dose is not None else max(d.dose_mg for d in previous.slot_doses.all())


def _check_restart(doses, previous: Prescription) -> list[str]:
    """After a lapse the first re-titration version may not exceed the dose before the
    lapse (a hard stop); above half of it, the suggestion, needs a clinical reason.
    Returns the cautions that need one."""
    cautions = []
    for code, dose in doses.items():
        before = _prelapse(previous, code)
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


def _check_maintenance_rise(doses, person, valid_from, policy) -> list[str]:
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
        lowest = min(before)
        allowed = (lowest * (1 + step / 100)).quantize(Decimal("0.01"))
        if dose > allowed:
            cautions.append(
                f"{code} rises from {format_mg(lowest)} mg to {format_mg(dose)} mg within "
                f"{policy.maintenance_rise_days} days, more than the clinic's step of "
                f"{step}% (at most {format_mg(allowed)} mg without a clinical reason)"
            )
    return cautions


def _check_new_starter(doses, topup) -> None:
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


def _check_reduction(doses, previous: Prescription | None) -> None:
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


def _check_rise(doses, previous: Prescription, last_given: Decimal | None) -> None:
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


def review_record(
    *,
    service_user: ServiceUser,
    prescriber,
    decision: str,
    notes: str,
    slot_doses: Mapping[str, Decimal | str] | None = None,
    topup_max_mg: Decimal | str | None = None,
    clinical_reason: str = "",
    now: dt.datetime | None = None,
) -> Review:
    """Record a weekly review and, in the same step, the prescription it decides on.

    Continue issues nothing; increase and reduce issue a new version whose day's
    doses go up or down; re-titrate requires re-titration and issues the
    re-titration prescription when doses are given. All or nothing.
    """
    now = now or timezone.now()
    decision = Decision(decision)
    notes = (notes or "").strip()
    if not notes:
        raise RuleViolation(
            "Write the review's notes: what was reviewed and why this decision.",
            code="notes_required",
            field="notes",
        )
    slot_doses = {
        code: dose
        for code, dose in (slot_doses or {}).items()
        if str(dose).strip() not in ("", "None")
    }
    settle_service_user(service_user.pk, now=now)
    with transaction.atomic():
        locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        if locked.status not in IN_TREATMENT:
            raise RuleViolation(
                f"{locked.display_name} is not in treatment (status: {locked.get_status_display()})"
                "; only people in treatment are reviewed.",
                code="not_in_treatment",
                field="service_user",
            )
        current = prescription_in_force(service_user=locked, at=now)
        if decision == Decision.CONTINUE and slot_doses:
            raise RuleViolation(
                "Continue keeps the prescription as it is. To change doses, choose increase, "
                "reduce or re-titrate.",
                code="continue_with_doses",
                field="decision",
            )
        if decision in (Decision.INCREASE, Decision.REDUCE):
            _check_direction(decision, slot_doses, current)
        if decision == Decision.RETITRATE and locked.status != Status.RETITRATION_REQUIRED:
            service_user_transition(
                service_user=locked,
                to_status=Status.RETITRATION_REQUIRED,
                changed_by=prescriber,
                reason=f"Weekly review: re-titrate. {notes}",
                now=now,
            )
        prescription = None
        if slot_doses:
            prescription = prescription_issue(
                service_user=locked,
                prescriber=prescriber,
                slot_doses=slot_doses,
                topup_max_mg=topup_max_mg,
                reason=f"Weekly review ({decision.label}): {notes}",
                clinical_reason=clinical_reason,
                now=now,
            )
        return Review.objects.create(
            service_user=locked,
            reviewed_at=now,
            prescriber=prescriber,
            decision=decision,
            notes=notes,
            prescription=prescription,
        )


def _check_direction(decision, slot_doses, current) -> None:
    if not slot_doses:
        raise RuleViolation(
            f"{decision.label} needs the new doses: enter the dose for each slot.",
            code="doses_required",
            field="slot_doses",
        )
    new_total = sum(parse_mg(dose, field=f"slot_doses.{code}") for code, dose in slot_doses.items())
    old_total = sum(d.dose_mg for d in current.slot_doses.all()) if current else Decimal(0)
    if decision == Decision.INCREASE and new_total <= old_total:
        raise RuleViolation(
            f"An increase must raise the day's doses above {format_mg(old_total)} mg; these add up "
            f"to {format_mg(new_total)} mg.",
            code="increase_not_higher",
            field="slot_doses",
        )
    if decision == Decision.REDUCE and (current is None or new_total >= old_total):
        raise RuleViolation(
            f"A reduction must lower the day's doses below {format_mg(old_total)} mg; these add up "
            f"to {format_mg(new_total)} mg.",
            code="reduce_not_lower",
            field="slot_doses",
        )


def pharmacy_add(
    *,
    clinic,
    name: str,
    address: str,
    ods_code: str = "",
    phone: str = "",
) -> Pharmacy:
    pharmacy = Pharmacy(
        clinic=clinic,
        name=name.strip(),
        address=address.strip(),
        ods_code=ods_code.strip().upper(),
        phone=phone.strip(),
    )
    pharmacy.full_clean()
    pharmacy.save()
    return pharmacy
