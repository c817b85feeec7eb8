"""Corrections to dose session records, by dated amendment only.

A correction is as strict as the record it corrects. A correction of an injection
is witnessed like the injection, by the witness's own password; it obeys the
injection's rules (injected no more than drawn, within the prescription and the
top-up allowance, inside the session's window and not in the future, the minimum
interval and the daily maximum); and it writes the controlled drugs register's
correction entries, so that the register's supply and waste always equal what the
corrected records say.
"""

import contextlib
import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.debug import sensitive_variables

from core.errors import (
    RuleViolation,
    choice,
    in_record_years,
    require_reason,
    whole_number,
)

from .assessment import Reading
from .breath import parse_breath
from .dose_rules import (
    check_daily_total,
    check_injection,
    check_interval,
    check_observation_times,
    check_time,
    check_topup_gap,
    observation_check,
    prescription_for_injection,
)
from .effective import (
    INJECTION_FIELDS,
    OBSERVATION_FIELDS,
    Injection,
    ObservationAsRead,
    effective_values,
    injections,
)
from .mg import MAX_NALOXONE_MG, format_mg, parse_mg
from .models import (
    AMENDABLE_LABELS,
    Amendment,
    DoseSession,
    Observation,
    Poss,
    Route,
    SessionStatus,
    Site,
)
from .observation import adverse_event_alert, observation_due_at
from .register_doses import register_correct_injection
from .room import lock_session
from .witness import witness_confirm

__all__ = ["AMENDABLE", "AMENDABLE_LABELS", "effective_values", "session_amend"]

AMENDABLE = {
    Amendment.Record.ASSESSMENT: ("poss", "breath_mcg_per_100ml", "caution_reason"),
    Amendment.Record.ADMINISTRATION: INJECTION_FIELDS,
    Amendment.Record.OBSERVATION: OBSERVATION_FIELDS,
    Amendment.Record.OUTCOME: ("outcome_note",),
}


def _original(session: DoseSession, record: str, sequence: int | None):
    if record == Amendment.Record.ASSESSMENT:
        # The one named, or the latest (the one that decided).
        assessments = session.assessments.order_by("-sequence")
        original = (assessments.filter(sequence=sequence) if sequence else assessments).first()
    elif record == Amendment.Record.OBSERVATION:
        original = getattr(session, "observation", None)
    elif record == Amendment.Record.ADMINISTRATION:
        original = session.administrations.filter(sequence=sequence or 1).first()  # type: ignore[assignment]
    else:
        original = session if (session.outcome_by_id or session.outcome_note) else None  # type: ignore[assignment]
    if original is None:
        what = (
            "outcome note" if record == Amendment.Record.OUTCOME else Amendment.Record(record).label
        )
        raise RuleViolation(
            f"This session has no {what.lower()} to correct.",
            code="nothing_to_amend",
            field="record",
        )
    return original


def _normalise(name: str, value) -> str:
    """Check a corrected value the way the original was checked, and store it as text."""
    field = f"changes.{name}"
    if name == "naloxone_mg":
        if value in (None, ""):
            return ""
        return format_mg(parse_mg(value, field=field, maximum=MAX_NALOXONE_MG))
    if name in ("drawn_mg", "injected_mg"):
        return format_mg(parse_mg(value, field=field))
    if name == "breath_mcg_per_100ml":
        return "" if value in (None, "") else format_mg(parse_breath(value, field=field))
    choices = {"poss": Poss, "route": Route, "site": Site, "outcome": Observation.Outcome}
    if name in choices:
        what = AMENDABLE_LABELS[name].lower()
        return str(choice(choices[name], value, field=field, what=what).value)  # type: ignore[arg-type]
    if name in ("injected_at", "naloxone_at"):
        when = value if isinstance(value, dt.datetime) else None
        if when is None and value not in (None, ""):
            try:
                when = parse_datetime(str(value))
            except ValueError:  # well formed but no such date or time
                when = None
        if when is not None and not in_record_years(when):
            when = None
            raise RuleViolation(
                f"{AMENDABLE_LABELS[name]} must be a date and time with its offset.",
                code="bad_time",
                field=field,
            )
        if name == "injected_at" and when is None:
            raise RuleViolation("An injection always has its time.", code="bad_time", field=field)
        return when.isoformat() if when else ""
    if name in ("over_sedation", "overdose", "ambulance_called"):
        return "True" if value in (True, "true", "True", "on", "1") else "False"
    text = str(value or "").strip()
    if "\x00" in text:
        raise RuleViolation(
            f"{AMENDABLE_LABELS[name]} has a character that cannot be kept (NUL).",
            code="text_invalid",
            field=field,
        )
    return text


@contextlib.contextmanager
def _as_changes():
    """A rule of the original record names its own field; in a correction that field
    is one of the changes."""
    try:
        yield
    except RuleViolation as refusal:
        if refusal.field and not refusal.field.startswith("changes."):
            refusal.field = f"changes.{refusal.field}"
        raise


@sensitive_variables("witness_password")
def session_amend(
    *,
    session: DoseSession,
    amended_by,
    record: str,
    changes: dict,
    reason: str,
    sequence: int | None = None,
    witness_username: str = "",
    witness_password: str = "",
    now: dt.datetime | None = None,
) -> Amendment:
    """Correct a record by a dated amendment that points at it. The original stays.

    A correction of an injection names its witness, who confirms with their own
    password, as at the injection."""
    now = now or timezone.now()
    record = choice(Amendment.Record, record, field="record", what="record to correct")
    if sequence not in (None, ""):
        # An injection is 1 or 2 (a top-up); an assessment is numbered from 1.
        sequence = whole_number(sequence, field="sequence", minimum=1, maximum=50)
    if not isinstance(changes, dict):
        raise RuleViolation(
            "Give the corrected values by field.", code="changes_invalid", field="changes"
        )
    reason = require_reason(reason, "Say why the record is corrected.")
    allowed = AMENDABLE[record]
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise RuleViolation(
            f"{', '.join(str(name)[:40] for name in unknown)} cannot be corrected on the "
            f"{record.label.lower()}; these can: {', '.join(allowed)}.",
            code="field_not_amendable",
            field="changes",
        )
    corrected = {name: _normalise(name, value) for name, value in changes.items()}
    witness = None
    if record == Amendment.Record.ADMINISTRATION:
        # Before the lock: password hashing is slow by design and must not hold the row.
        witness = witness_confirm(
            witness_username=witness_username,
            witness_password=witness_password,
            nurse=amended_by,
            clinic=session.clinic,
            now=now,
            may_witness="a correction of a dose in this clinic: a witness is an HCA or a "
            "nurse of the clinic",
        )
    with transaction.atomic():
        locked = lock_session(session)
        original = _original(locked, record, sequence)
        names = _names(record, original)
        earlier = Amendment.objects.filter(session=locked, record=record, **names).order_by(
            "amended_at", "pk"
        )
        current = effective_values(original, earlier, allowed)
        diff = {
            name: {"from": current[name], "to": value}
            for name, value in corrected.items()
            if value != current[name]
        }
        if not diff:
            raise RuleViolation(
                "Nothing to correct: the values are as recorded. Change the one that was wrong.",
                code="nothing_changed",
                field="changes",
            )
        after = {**current, **corrected}
        with _as_changes():
            if record == Amendment.Record.ADMINISTRATION:
                before = Injection(original, earlier)
                now_reads = Injection(original, values=after)
                _check_corrected_injection(locked, now_reads, now=now)
            if record == Amendment.Record.OBSERVATION:
                _check_corrected_observation(locked, original, after, now=now)
            if record == Amendment.Record.ASSESSMENT:
                _check_corrected_assessment(original, after, locked.policy)
        amendment = Amendment.objects.create(
            session=locked,
            record=record,
            **names,
            changes=diff,
            reason=reason,
            amended_by=amended_by,
            witness=witness,
            amended_at=now,
        )
        if record == Amendment.Record.ADMINISTRATION:
            register_correct_injection(
                administration=original,
                before=before,
                after=now_reads,
                by=amended_by,
                witness=witness,
                reason=reason,
                now=now,
            )
            _move_observation_due(locked)
        if (
            record == Amendment.Record.OBSERVATION
            and after["outcome"] == Observation.Outcome.ADVERSE_EVENT
        ):
            adverse_event_alert(locked, ObservationAsRead(after), now=now)
    return amendment


def _names(record, original) -> dict:
    """The amendment's pointer at the record it corrects, where a session has several."""
    return {
        "administration": original if record == Amendment.Record.ADMINISTRATION else None,
        "assessment": original if record == Amendment.Record.ASSESSMENT else None,
    }


def _check_corrected_assessment(original, after: dict, policy) -> None:
    """An assessment still reads as what it led to: one that went on to the dose
    neither calls for a withhold (POSS 3 or 4, breath at the withhold threshold) nor
    has a caution without its reason, read by the assessment's own rule (Reading)."""
    if original.decision != original.Decision.PROCEED:
        return
    breath = Decimal(after["breath_mcg_per_100ml"]) if after["breath_mcg_per_100ml"] else None
    reading = Reading(after["poss"], breath, policy)
    if reading.withhold:
        what = (
            f"Breath alcohol {format_mg(breath)} µg/100 ml"  # type: ignore[arg-type]
            if reading.alcohol_withhold
            else f"POSS {after['poss']}"
        )
        raise RuleViolation(
            f"{what} withholds the dose, and this assessment went "
            "on to it. If that is what happened, correct the session's other records too and "
            "say so in the reason; this correction cannot say both.",
            code="poss_withholds" if reading.sedation_withhold else "breath_withholds",
            field="breath_mcg_per_100ml" if reading.alcohol_withhold else "poss",
        )
    if reading.cautions and not after["caution_reason"].strip():
        raise RuleViolation(
            f"Caution: {reading.caution_text()}. Record why it was safe to go on.",
            code="caution_reason_required",
            field="caution_reason",
        )


def _check_corrected_observation(session, original, after: dict, *, now) -> None:
    """The same rules as when it was recorded (dosing.room.session_observe)."""
    read = ObservationAsRead(after)
    observation_check(
        outcome=read.outcome,
        details=read.details,
        over_sedation=read.over_sedation,
        overdose=read.overdose,
        naloxone_mg=read.naloxone_mg,
        naloxone_at=read.naloxone_at,
        ambulance_called=read.ambulance_called,
    )
    check_observation_times(
        session,
        injected=injections(session.administrations.all()),
        outcome=read.outcome,
        naloxone_at=read.naloxone_at,
        observed_at=original.observed_at,
        now=now,
    )


def _check_corrected_injection(session, corrected: Injection, *, now) -> None:
    """The injection's own rules, applied to the injection as it would read, and the
    rules that tie it to the session's other records: the top-up's gap after the
    first injection, and the observation's times."""
    check_injection(
        drawn=corrected.drawn_mg,
        injected=corrected.injected_mg,
        route=corrected.route,
        site=corrected.site,
        risk_discussion=corrected.risk_discussion,
    )
    check_time(session, corrected.injected_at, now)
    # The session's other injection as it now reads.
    original = corrected.administration
    others = {i.sequence: i for i in injections(session.administrations.exclude(pk=original.pk))}
    prescription = prescription_for_injection(
        session,
        sequence=corrected.sequence,
        drawn=corrected.drawn_mg,
        injected=corrected.injected_mg,
        route=corrected.route,
        injected_at=corrected.injected_at,
        first_injected_at=others[1].injected_at if corrected.sequence == 2 else None,
    )
    check_interval(session, corrected.injected_at, session.policy)
    if corrected.sequence == 1 and 2 in others:
        check_topup_gap(corrected.injected_at, others[2].injected_at, session.policy)
    check_daily_total(
        session, injected=corrected.injected_mg, prescription=prescription, excluding=original
    )
    observation = getattr(session, "observation", None)
    if observation is not None:
        observed = ObservationAsRead.of(
            observation,
            Amendment.objects.filter(session=session, record=Amendment.Record.OBSERVATION).order_by(
                "amended_at", "pk"
            ),
        )
        check_observation_times(
            session,
            injected=[*others.values(), corrected],
            outcome=observed.outcome,
            naloxone_at=observed.naloxone_at,
            observed_at=observation.observed_at,
            now=now,
        )


def _move_observation_due(session: DoseSession) -> None:
    """A corrected injection time moves when the observation is overdue."""
    if session.status != SessionStatus.ADMINISTERED:
        return
    last = max(i.injected_at for i in injections(session.administrations.all()))
    session.observation_due_at = observation_due_at(session, last)
    session.save(update_fields=["observation_due_at"])
