"""Corrections to dose session records, by dated amendment only."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from hat_clinic.errors import RuleViolation, require_reason

from .models import SITES_FOR_ROUTE, Amendment, DoseSession, Observation, Poss, Route, Site
from .services import format_mg, observation_check, parse_mg

AMENDABLE = {
    Amendment.Record.ASSESSMENT: ("poss", "breath_mcg_per_100ml", "caution_reason"),
    Amendment.Record.ADMINISTRATION: (
        "drawn_mg",
        "injected_mg",
        "route",
        "site",
        "injected_at",
        "risk_discussion",
    ),
    Amendment.Record.OBSERVATION: (
        "outcome",
        "details",
        "naloxone_mg",
        "naloxone_at",
        "over_sedation",
        "overdose",
        "ambulance_called",
    ),
    Amendment.Record.OUTCOME: ("outcome_note",),
}


def _original(session: DoseSession, record: str, sequence: int | None):
    try:
        if record == Amendment.Record.ASSESSMENT:
            return session.assessment
        if record == Amendment.Record.OBSERVATION:
            return session.observation
        if record == Amendment.Record.ADMINISTRATION:
            return session.administrations.get(sequence=sequence or 1)
    except (
        DoseSession.assessment.RelatedObjectDoesNotExist,
        DoseSession.observation.RelatedObjectDoesNotExist,
        session.administrations.model.DoesNotExist,
    ) as error:
        raise RuleViolation(
            f"This session has no {record} record to correct.",
            code="nothing_to_amend",
            field="record",
        ) from error
    if not session.outcome_by_id and not session.outcome_note:
        raise RuleViolation(
            "This session has no outcome note to correct.", code="nothing_to_amend", field="record"
        )
    return session


def effective_values(original, amendments, fields) -> dict[str, str]:
    """The record as it now reads: the original, with each amendment applied in order."""
    values = {name: _text(getattr(original, name)) for name in fields}
    for amendment in amendments:
        for name, change in amendment.changes.items():
            values[name] = change["to"]
    return values


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_mg(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _normalise(name: str, value) -> str:
    """Check a corrected value the way the original was checked, and store it as text."""
    if name in ("drawn_mg", "injected_mg", "naloxone_mg"):
        return (
            ""
            if value in (None, "") and name == "naloxone_mg"
            else format_mg(parse_mg(value, field=f"changes.{name}"))
        )
    if name == "breath_mcg_per_100ml":
        if value in (None, ""):
            return ""
        try:
            reading = Decimal(str(value))
        except ArithmeticError as error:
            raise RuleViolation(
                "The breath reading must be a number.", code="breath_not_a_number", field="changes"
            ) from error
        if not reading.is_finite() or reading < 0:
            raise RuleViolation(
                "The breath reading must be 0 or more.", code="breath_not_a_number", field="changes"
            )
        return format_mg(reading)
    choices = {"poss": Poss, "route": Route, "site": Site, "outcome": Observation.Outcome}
    if name in choices:
        if value not in choices[name].values:
            raise RuleViolation(
                f"{value!r} is not a {name}; choose one of {', '.join(choices[name].values)}.",
                code="bad_choice",
                field=f"changes.{name}",
            )
        return str(value)
    if name in ("injected_at", "naloxone_at"):
        when = parse_datetime(str(value)) if value else None
        if value and (when is None or when.tzinfo is None):
            raise RuleViolation(
                f"{name} must be a date and time with its offset.",
                code="bad_time",
                field=f"changes.{name}",
            )
        return when.isoformat() if when else ""
    if name in ("over_sedation", "overdose", "ambulance_called"):
        return "True" if value in (True, "true", "True", "on", "1") else "False"
    return str(value or "").strip()


def session_amend(
    *,
    session: DoseSession,
    amended_by,
    record: str,
    changes: dict,
    reason: str,
    sequence: int | None = None,
    now: dt.datetime | None = None,
) -> Amendment:
    """Correct a record by a dated amendment that points at it. The original stays."""
    now = now or timezone.now()
    record = Amendment.Record(record)
    reason = require_reason(reason, "Say why the record is corrected.")
    allowed = AMENDABLE[record]
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise RuleViolation(
            f"{', '.join(unknown)} cannot be corrected on the {record.label.lower()}"
            f"; these can: {', '.join(allowed)}.",
            code="field_not_amendable",
            field="changes",
        )
    with transaction.atomic():
        locked = DoseSession.objects.select_for_update().get(pk=session.pk)
        original = _original(locked, record, sequence)
        earlier = Amendment.objects.filter(
            session=locked,
            record=record,
            administration=original if record == Amendment.Record.ADMINISTRATION else None,
        ).order_by("amended_at", "pk")
        current = effective_values(original, earlier, allowed)
        corrected = {name: _normalise(name, value) for name, value in changes.items()}
        diff = {
            name: {"from": current[name], "to": value}
            for name, value in corrected.items()
            if value != current[name]
        }
        if not diff:
            raise RuleViolation(
                "Nothing to correct: the values are as recorded.",
                code="nothing_changed",
                field="changes",
            )
        after = {**current, **corrected}
        if record == Amendment.Record.ADMINISTRATION:
            if Decimal(after["injected_mg"]) > Decimal(after["drawn_mg"]):
                raise RuleViolation(
                    "Injected cannot be more than drawn up.",
                    code="injected_above_drawn",
                    field="changes",
                )
            if after["site"] not in SITES_FOR_ROUTE[Route(after["route"])]:
                raise RuleViolation(
                    f"{after['site']} is not a site for that route.",
                    code="site_not_for_route",
                    field="changes",
                )
        if record == Amendment.Record.OBSERVATION:
            # The same rules as when it was recorded (dosing.room.session_observe).
            observation_check(
                outcome=after["outcome"],
                details=after["details"],
                over_sedation=after["over_sedation"] == "True",
                overdose=after["overdose"] == "True",
                naloxone_mg=after["naloxone_mg"],
                naloxone_at=after["naloxone_at"],
                ambulance_called=after["ambulance_called"] == "True",
            )
        return Amendment.objects.create(
            session=locked,
            record=record,
            administration=original if record == Amendment.Record.ADMINISTRATION else None,
            changes=diff,
            reason=reason,
            amended_by=amended_by,
            amended_at=now,
        )
