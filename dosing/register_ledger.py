"""The controlled drugs register's ledger: whole ampoules in and out of a section,
appended in time order under the section's row lock (docs/domain.md, "Controlled
drugs register"). dosing.register records each kind of entry with it;
dosing.register_doses writes what each dose opens and wastes."""

import datetime as dt
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.db.models import Max, Sum
from django.db.models.functions import Coalesce

from core.errors import RuleViolation

from .mg import format_mg
from .models import EntryKind, RegisterEntry, RegisterSection

# The register's quantities hold 10 digits, 2 of them decimals; a delivery or a
# destruction of more ampoules than this is a typing slip.
MAX_REGISTER_MG = Decimal("99999999.99")
MAX_AMPOULES = 10_000


def ampoules_opened(drawn_mg: Decimal, section: RegisterSection) -> int:
    """The whole ampoules a dose drawn up from this section opens: as many as it needs."""
    return int((drawn_mg / section.strength_mg).to_integral_value(rounding=ROUND_CEILING))


def dose_waste_mg(drawn_mg: Decimal, injected_mg: Decimal, section: RegisterSection) -> Decimal:
    """A dose's waste in the register: what is left in the ampoules it opened, and what
    was drawn up but not injected."""
    return section.strength_mg * ampoules_opened(drawn_mg, section) - injected_mg


def whole_ampoules(
    value: object, *, field: str, what: str, allow_zero: bool = False, unit: str = "ampoules"
) -> int:
    low = 0 if allow_zero else 1
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_AMPOULES:
        raise RuleViolation(
            f"Give the number of {unit} {what} as a whole number ({low} to {MAX_AMPOULES}).",
            code="quantity_invalid",
            field=field,
        )
    return value


def one_of(ampoules: object, ampoules_field: str, mg: object, mg_field: str) -> None:
    """A quantity given two ways at once is refused, not silently half-read."""
    if ampoules not in (None, "") and mg not in (None, ""):
        raise RuleViolation(
            f"Give the {ampoules_field.replace('_', ' ')} or the mg, not both.",
            code="quantity_given_twice",
            field=mg_field,
        )


def register_append(
    section: RegisterSection,
    *,
    kind: EntryKind,
    by: Any,
    now: dt.datetime,
    occurred_at: dt.datetime | None = None,
    ampoules_in: int = 0,
    ampoules_out: int = 0,
    refusal_field: str = "ampoules",
    **fields: Any,
) -> RegisterEntry:
    """Append one entry under the section's row lock. The ledger counts whole ampoules;
    each entry's mg are its ampoules times the strength. The balance is the sum of the
    entries, never the section's stored figures, which are only a copy for reading: a
    changed copy cannot hide stock (issue 16.6; register_integrity_scan alerts on it)."""
    locked = RegisterSection.objects.select_for_update().get(pk=section.pk)
    totals = locked.entries.aggregate(
        last=Max("sequence"),
        held=Coalesce(Sum("ampoules_in") - Sum("ampoules_out"), 0),
        held_mg=Coalesce(Sum("quantity_in_mg") - Sum("quantity_out_mg"), Decimal("0")),
    )
    held, last = totals["held"], totals["last"] or 0
    balance = held + ampoules_in - ampoules_out
    if balance < 0:
        raise RuleViolation(
            f"Not enough in the register for {locked}: it holds {locked.count(held)} and "
            f"this takes out {locked.count(ampoules_out)}. Record the receipt first, or "
            "check the quantity.",
            code="register_balance_negative",
            field=refusal_field,
        )
    quantity_in, quantity_out = locked.strength_mg * ampoules_in, locked.strength_mg * ampoules_out
    balance_mg = totals["held_mg"] + quantity_in - quantity_out
    if balance_mg > MAX_REGISTER_MG:
        raise RuleViolation(
            f"That would take {locked} above the most one section holds "
            f"({format_mg(MAX_REGISTER_MG)} mg): check the quantity.",
            code="quantity_invalid",
            field=refusal_field,
        )
    entry = RegisterEntry.objects.create(
        section=locked,
        sequence=last + 1,
        kind=kind,
        occurred_at=occurred_at or now,
        ampoules_in=ampoules_in,
        ampoules_out=ampoules_out,
        balance_ampoules=balance,
        quantity_in_mg=quantity_in,
        quantity_out_mg=quantity_out,
        balance_mg=balance_mg,
        recorded_by=by,
        recorded_at=now,
        **fields,
    )
    locked.balance_ampoules, locked.balance_mg = balance, balance_mg
    locked.save(update_fields=["balance_ampoules", "balance_mg"])
    section.balance_ampoules, section.balance_mg = balance, balance_mg
    return entry
