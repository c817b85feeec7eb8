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

from hat_clinic.errors import RuleViolation, choice, require_reason, whole_number
from monitoring.records import parse_breath

from .dose_rules import (
    check_daily_total,
    check_injection,
    check_interval,
    check_observation_times,
    check_time,
    check_topup_gap,
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
from .mg import MAX_NALOXONE_MG
from .models import (
    AMENDABLE_LABELS,
    POSS_CAUTION,
    POSS_WITHHOLD,
    Amendment,
    DoseSession,
    Observation,
    Poss,
    Route,
    SessionStatus,
    Site,
)
from .observation import adverse_event_alert, observation_due_at
from .register import register_correct_injection
from .room import lock_session
from .services import format_mg, observation_check, parse_mg
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
        original = session.administrations.filter(sequence=sequence or 1).first()
    else:
        original = session if (session.outcome_by_id or session.outcome_note) else None
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


# Corrected times outside these years are refused: converting such a time to the
# clinic's zone can overflow, and no dose session is there anyway.
YEARS = range(2000, 2100)


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
        return str(choice(choices[name], value, field=field, what=what).value)
    if name in ("injected_at", "naloxone_at"):
        when = value if isinstance(value, dt.datetime) else None
        if when is None and value not in (None, ""):
            try:
                when = parse_datetime(str(value))
            except ValueError:  # well formed but no such date or time
                when = None
        if when is not None and when.year not in YEARS:
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
                _check_corrected_injection(locked, original, after, now=now)
            if record == Amendment.Record.OBSERVATION:
                _check_corrected_observation(locked, original, after, now=now)
            if record == Amendment.Record.ASSESSMENT:
                _check_corrected_assessment(original, after)
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
            now_reads = Injection(original, [*earlier, amendment])
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


def _check_corrected_assessment(original, after: dict) -> None:
    """An assessment still reads as what it led to: one that went on to the dose has
    neither POSS 3 or 4 nor a caution without its reason."""
    if original.decision != original.Decision.PROCEED:
        return
    if after["poss"] in POSS_WITHHOLD:
        raise RuleViolation(
            f"POSS {after['poss']} withholds the dose, and this assessment went on to it. If "
            "the service user was too sedated, correct the session's other records too, and "
            "say so in the reason; this correction cannot say both.",
            code="poss_withholds",
            field="poss",
        )
    if after["poss"] in POSS_CAUTION and not after["caution_reason"].strip():
        raise RuleViolation(
            "Caution: POSS 2. Record why it was safe to go on.",
            code="caution_reason_required",
            field="caution_reason",
        )


def _check_corrected_observation(session, original, after: dict, *, now) -> None:
    """The same rules as when it was recorded (dosing.room.session_observe)."""
    naloxone_at = dt.datetime.fromisoformat(after["naloxone_at"]) if after["naloxone_at"] else None
    observation_check(
        outcome=after["outcome"],
        details=after["details"],
        over_sedation=after["over_sedation"] == "True",
        overdose=after["overdose"] == "True",
        naloxone_mg=after["naloxone_mg"],
        naloxone_at=naloxone_at,
        ambulance_called=after["ambulance_called"] == "True",
    )
    check_observation_times(
        session,
        injected=injections(session.administrations.all()),
        outcome=after["outcome"],
        naloxone_at=naloxone_at,
        observed_at=original.observed_at,
        now=now,
    )


def _check_corrected_injection(session, original, after: dict, *, now) -> None:
    """The injection's own rules, applied to the injection as it would read, and the
    rules that tie it to the session's other records: the top-up's gap after the
    first injection, and the observation's times."""
    drawn, injected = Decimal(after["drawn_mg"]), Decimal(after["injected_mg"])
    injected_at = dt.datetime.fromisoformat(after["injected_at"])
    check_injection(
        drawn=drawn,
        injected=injected,
        route=after["route"],
        site=after["site"],
        risk_discussion=after["risk_discussion"],
    )
    check_time(session, injected_at, now)
    # The session's injections as they would read with this correction.
    others = {i.sequence: i for i in injections(session.administrations.exclude(pk=original.pk))}
    first_at = others[1].injected_at if original.sequence == 2 else None
    prescription = prescription_for_injection(
        session,
        sequence=original.sequence,
        drawn=drawn,
        injected=injected,
        route=after["route"],
        injected_at=injected_at,
        first_injected_at=first_at,
    )
    check_interval(session, injected_at, session.policy)
    if original.sequence == 1 and 2 in others:
        check_topup_gap(injected_at, others[2].injected_at, session.policy)
    check_daily_total(session, injected=injected, prescription=prescription, excluding=original)
    observation = getattr(session, "observation", None)
    if observation is not None:
        observed = ObservationAsRead.of(
            observation,
            Amendment.objects.filter(session=session, record=Amendment.Record.OBSERVATION).order_by(
                "amended_at", "pk"
            ),
        )
        corrected = Injection(original)
        corrected.injected_at = injected_at
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
    last = max(i.injected_at for i in map(Injection, session.administrations.all()))
    session.observation_due_at = observation_due_at(session, last)
    session.save(update_fields=["observation_due_at"])
