"""The controlled drugs register for diamorphine (docs/domain.md, "Controlled drugs
register"; Misuse of Drugs Regulations 2001, regs 19, 20 and 27).

Every entry is appended under a lock on its section's row, which holds the running
balance: entries are numbered in time order, and nothing that would take the
balance below zero is accepted, even when two entries race. Entries are never
changed; a correction is a dated note pointing at the entry it corrects.
"""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from alerts.models import AlertKind
from alerts.services import alert_raise
from core.errors import Conflict, RuleViolation, choice, require_reason
from eligibility.models import Clinic

from .mg import format_mg, parse_mg
from .models import (
    DIAMORPHINE,
    Administration,
    EntryKind,
    RegisterEntry,
    RegisterSection,
)
from .witness import witness_confirm

# The register's quantities hold 10 digits, 2 of them decimals; a delivery or a
# destruction of more ampoules than this is a typing slip.
MAX_REGISTER_MG = Decimal("99999999.99")
MAX_AMPOULES = 10_000


# The largest diamorphine ampoule made is 500 mg; a section's strength is per unit.
MAX_STRENGTH_MG = Decimal("1000")


def register_section_add(
    *, clinic, strength_mg, form: str = "ampoule", supplies_doses: bool = False
) -> RegisterSection:
    """Open a register section for a strength (and form) the clinic has not held yet;
    it starts at a balance of 0 until a receipt. Only one section supplies the doses
    given in the dosing room; a second is refused, naming the first."""
    strength = parse_mg(strength_mg, field="strength_mg", maximum=MAX_STRENGTH_MG)
    form = (form or "").strip().lower() or "ampoule"
    if len(form) > (RegisterSection._meta.get_field("form").max_length or 0):
        raise RuleViolation(
            "Name the form in a word or two, e.g. ampoule.", code="form_too_long", field="form"
        )
    with transaction.atomic():
        # The clinic's row lock: two managers opening the same section, one wins.
        Clinic.objects.select_for_update().get(pk=clinic.pk)
        existing = RegisterSection.objects.filter(clinic=clinic)
        same = existing.filter(drug=DIAMORPHINE, strength_mg=strength, form=form).first()
        if same is not None:
            raise RuleViolation(
                f"The register already has a section for {same}.",
                code="section_exists",
                field="strength_mg",
            )
        supplier = existing.filter(supplies_doses=True).first()
        if supplies_doses and supplier is not None:
            raise RuleViolation(
                f"{supplier} supplies the doses already: only one section does. Open this "
                "one without it.",
                code="supply_section_exists",
                field="supplies_doses",
            )
        return RegisterSection.objects.create(
            clinic=clinic, strength_mg=strength, form=form, supplies_doses=supplies_doses
        )


def _append(
    section: RegisterSection,
    *,
    kind: EntryKind,
    by,
    now,
    occurred_at=None,
    quantity_in=Decimal("0"),
    quantity_out=Decimal("0"),
    **fields,
) -> RegisterEntry:
    """Append one entry under the section's row lock. The balance is the sum of the
    entries, never the section's stored figure, which is only a copy for reading: a
    changed copy cannot hide stock (issue 16.6; register_integrity_scan alerts on it)."""
    locked = RegisterSection.objects.select_for_update().get(pk=section.pk)
    totals = locked.entries.aggregate(
        last=Max("sequence"),
        held=Coalesce(Sum("quantity_in_mg") - Sum("quantity_out_mg"), Decimal("0")),
    )
    held, last = totals["held"], totals["last"] or 0
    balance = held + quantity_in - quantity_out
    if balance < 0:
        raise RuleViolation(
            f"Not enough in the register for {locked}: the balance is "
            f"{format_mg(held)} mg and this takes out {format_mg(quantity_out)} mg. "
            "Record the receipt first, or check the quantity.",
            code="register_balance_negative",
            field="quantity_mg",
        )
    entry = RegisterEntry.objects.create(
        section=locked,
        sequence=last + 1,
        kind=kind,
        occurred_at=occurred_at or now,
        quantity_in_mg=quantity_in,
        quantity_out_mg=quantity_out,
        balance_mg=balance,
        recorded_by=by,
        recorded_at=now,
        **fields,
    )
    locked.balance_mg = balance
    locked.save(update_fields=["balance_mg"])
    section.balance_mg = balance
    return entry


def _same_day(occurred_at: dt.datetime | None, section, now) -> None:
    """docs/domain.md: entries are made the same day."""
    if occurred_at is None:
        return
    clinic = section.clinic
    if occurred_at > now or clinic.clinic_day_of(occurred_at) != clinic.clinic_day_of(now):
        raise RuleViolation(
            "Register entries are made the same day as what they record, and not ahead.",
            code="register_not_same_day",
            field="occurred_at",
        )


def register_receive(
    *,
    section: RegisterSection,
    ampoules: int,
    supplier_name: str,
    supplier_address: str,
    batch: str,
    expiry: dt.date,
    received_by,
    occurred_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> RegisterEntry:
    """Stock received from a supplier: name and address, quantity, batch, expiry."""
    now = now or timezone.now()
    if not isinstance(ampoules, int) or not 0 < ampoules <= MAX_AMPOULES:
        raise RuleViolation(
            f"Give the number of ampoules received (1 to {MAX_AMPOULES}).",
            code="quantity_invalid",
            field="ampoules",
        )
    supplier_name = require_reason(supplier_name, "Give the supplier's name.")
    supplier_address = require_reason(supplier_address, "Give the supplier's address.")
    batch = (batch or "").strip()
    if not batch:
        raise RuleViolation("Give the batch number.", code="batch_required", field="batch")
    if expiry <= section.clinic.clinic_day_of(now):
        raise RuleViolation(
            f"This stock expired on {expiry:%d %b %Y}: do not receive it into stock.",
            code="stock_expired",
            field="expiry",
        )
    _same_day(occurred_at, section, now)
    with transaction.atomic():
        return _append(
            section,
            kind=EntryKind.RECEIPT,
            by=received_by,
            now=now,
            occurred_at=occurred_at,
            quantity_in=section.strength_mg * ampoules,
            ampoules=ampoules,
            supplier_name=supplier_name,
            supplier_address=supplier_address,
            batch=batch,
            expiry=expiry,
        )


def register_supply_for(administration: Administration, *, now: dt.datetime) -> None:
    """Called inside the dose's transaction: the drawn amount is supplied from the
    clinic's dose-supply section, and anything drawn but not injected is recorded as
    waste, witnessed by the dose's witness. A clinic without a register section for
    doses records nothing here. Too little in the register refuses the dose."""
    session = administration.session
    section = RegisterSection.objects.filter(
        clinic_id=session.clinic_id, supplies_doses=True
    ).first()
    if section is None:
        return
    _append(
        section,
        kind=EntryKind.SUPPLY,
        by=administration.nurse,
        now=now,
        occurred_at=administration.injected_at,
        quantity_out=administration.drawn_mg,
        session=session,
        administration=administration,
        witness=administration.witness,
        note=f"{session.slot_code} {session.clinic_day:%d %b}, injection {administration.sequence}",
    )
    waste = administration.drawn_mg - administration.injected_mg
    if waste > 0:
        _append(
            section,
            kind=EntryKind.WASTE,
            by=administration.nurse,
            now=now,
            occurred_at=administration.injected_at,
            session=session,
            administration=administration,
            witness=administration.witness,
            waste_mg=waste,
            note=f"{format_mg(waste)} mg drawn but not injected, of the "
            f"{format_mg(administration.drawn_mg)} mg supplied above; destroyed.",
        )


def register_correct_injection(
    *, administration: Administration, before, after, by, witness, reason: str, now
) -> None:
    """Called inside a correction's transaction: the register follows the injection as
    corrected. A changed drawn amount is a correction of its supply that takes out (or
    puts back) the difference; a changed waste is a correction of its waste entry, or
    a new waste entry where there was none. ``before`` and ``after`` are the injection
    as it read before and as it now reads (dosing.effective.Injection). An injection
    recorded before the clinic kept its register here has no supply to correct."""
    supply = administration.register_entries.filter(kind=EntryKind.SUPPLY).first()
    if supply is None:
        return
    section, session = supply.section, administration.session
    common = {
        "by": by,
        "now": now,
        "session": session,
        "administration": administration,
        "witness": witness,
    }
    if after.drawn_mg != before.drawn_mg:
        more = after.drawn_mg - before.drawn_mg
        _append(
            section,
            kind=EntryKind.CORRECTION,
            corrects=supply,
            corrected_mg=after.drawn_mg,
            quantity_out=max(more, Decimal(0)),
            quantity_in=max(-more, Decimal(0)),
            note=f"Drawn up corrected from {format_mg(before.drawn_mg)} mg to "
            f"{format_mg(after.drawn_mg)} mg: {reason}",
            **common,
        )
    if after.waste_mg != before.waste_mg:
        waste = administration.register_entries.filter(kind=EntryKind.WASTE).first()
        if waste is None:
            _append(
                section,
                kind=EntryKind.WASTE,
                occurred_at=after.injected_at,
                waste_mg=after.waste_mg,
                note=f"{format_mg(after.waste_mg)} mg drawn but not injected, found by a "
                f"correction; destroyed: {reason}",
                **common,
            )
        else:
            _append(
                section,
                kind=EntryKind.CORRECTION,
                corrects=waste,
                corrected_mg=after.waste_mg,
                note=f"Waste corrected from {format_mg(before.waste_mg)} mg to "
                f"{format_mg(after.waste_mg)} mg: {reason}",
                **common,
            )


def _witness(section, username, password, by, now, *, permission, may_witness):
    return witness_confirm(
        witness_username=username,
        witness_password=password,
        nurse=by,
        clinic=section.clinic,
        now=now,
        permission=permission,
        may_witness=may_witness,
    )


@sensitive_variables("witness_password")
def register_waste(
    *,
    section: RegisterSection,
    quantity_mg,
    note: str,
    recorded_by,
    witness_username: str,
    witness_password: str,
    now: dt.datetime | None = None,
) -> RegisterEntry:
    """Stock drawn up but not used outside a dose (a dose drawn, then withheld),
    destroyed in front of a witness who confirms with their own credentials."""
    now = now or timezone.now()
    quantity = parse_mg(quantity_mg, field="quantity_mg", maximum=MAX_REGISTER_MG)
    note = require_reason(note, "Say what was wasted and why.")
    witness = _witness(
        section,
        witness_username,
        witness_password,
        recorded_by,
        now,
        permission="dosing.witness_dose",
        may_witness="waste in this clinic: a witness is an HCA or a nurse of the clinic",
    )
    with transaction.atomic():
        return _append(
            section,
            kind=EntryKind.WASTE,
            by=recorded_by,
            now=now,
            quantity_out=quantity,
            waste_mg=quantity,
            witness=witness,
            note=note,
        )


@sensitive_variables("witness_password")
def register_destroy(
    *,
    section: RegisterSection,
    ampoules: int,
    note: str,
    recorded_by,
    witness_username: str,
    witness_password: str,
    now: dt.datetime | None = None,
) -> RegisterEntry:
    """Destruction of stock (expired, damaged), in front of an authorised witness named
    and confirmed by their own credentials (reg. 27)."""
    now = now or timezone.now()
    if not isinstance(ampoules, int) or not 0 < ampoules <= MAX_AMPOULES:
        raise RuleViolation(
            f"Give the number of ampoules destroyed (1 to {MAX_AMPOULES}).",
            code="quantity_invalid",
            field="ampoules",
        )
    note = require_reason(note, "Say what was destroyed and why (e.g. expired batch).")
    witness = _witness(
        section,
        witness_username,
        witness_password,
        recorded_by,
        now,
        permission="dosing.witness_cd_destruction",
        may_witness="the destruction of controlled drugs: an authorised witness is needed",
    )
    with transaction.atomic():
        return _append(
            section,
            kind=EntryKind.DESTRUCTION,
            by=recorded_by,
            now=now,
            quantity_out=section.strength_mg * ampoules,
            ampoules=ampoules,
            witness=witness,
            note=note,
        )


def register_stock_check(
    *,
    section: RegisterSection,
    counted_mg,
    checked_by,
    note: str = "",
    now: dt.datetime | None = None,
) -> RegisterEntry:
    """A physical count against the balance the entries add up to (not the section's
    stored copy). A difference raises a register discrepancy alert; the balance stays
    what the entries say until explained."""
    now = now or timezone.now()
    counted = parse_mg(counted_mg, field="counted_mg", allow_zero=True, maximum=MAX_REGISTER_MG)
    with transaction.atomic():
        entry = _append(
            section,
            kind=EntryKind.STOCK_CHECK,
            by=checked_by,
            now=now,
            counted_mg=counted,
            note=(note or "").strip(),
        )
        if counted != entry.balance_mg:
            alert_raise(
                kind=AlertKind.REGISTER_DISCREPANCY,
                clinic=section.clinic,
                cause_key=f"stock-check:{entry.pk}",
                detail=f"{section}: counted {format_mg(counted)} mg, the register says "
                f"{format_mg(entry.balance_mg)} mg (difference "
                f"{format_mg(counted - entry.balance_mg)} mg).",
                now=now,
            )
    return entry


def register_correct(
    *, entry: RegisterEntry, note: str, corrected_by, now: dt.datetime | None = None
) -> RegisterEntry:
    """A dated note correcting an earlier entry, which is never changed."""
    now = now or timezone.now()
    if entry is None:
        raise RuleViolation("Name the entry this corrects.", code="no_such_entry", field="corrects")
    note = require_reason(note, "Say what was wrong in the entry and what is right.")
    if entry.kind == EntryKind.CORRECTION:
        raise Conflict("Correct the original entry, not a correction.", code="correct_original")
    with transaction.atomic():
        return _append(
            entry.section,
            kind=EntryKind.CORRECTION,
            by=corrected_by,
            now=now,
            corrects=entry,
            note=note,
        )


# Who may record each kind (supplies come only from administrations), and what each
# kind is given beside the section and who records it: the page and the API share them.
ENTRY_PERMISSIONS = {
    EntryKind.RECEIPT: "dosing.receive_stock",
    EntryKind.WASTE: "dosing.add_registerentry",
    EntryKind.DESTRUCTION: "dosing.add_registerentry",
    EntryKind.STOCK_CHECK: "dosing.add_registerentry",
    EntryKind.CORRECTION: "dosing.add_registerentry",
}
ENTRY_FIELDS = {
    EntryKind.RECEIPT: ("ampoules", "supplier_name", "supplier_address", "batch", "expiry"),
    EntryKind.WASTE: ("quantity_mg", "note", "witness_username", "witness_password"),
    EntryKind.DESTRUCTION: ("ampoules", "note", "witness_username", "witness_password"),
    EntryKind.STOCK_CHECK: ("counted_mg", "note"),
    EntryKind.CORRECTION: ("corrects", "note"),
}


def section_entry(section: RegisterSection, **lookup) -> RegisterEntry:
    """An entry of this section, for a correction to point at."""
    entry = section.entries.filter(**lookup).first()
    if entry is None:
        raise RuleViolation(
            "There is no such entry in this section.", code="no_such_entry", field="corrects"
        )
    return entry


def register_record(
    *, section: RegisterSection, kind: str, by, now: dt.datetime | None = None, **fields
) -> RegisterEntry:
    """Record one entry of any kind but supply, with the fields ENTRY_FIELDS names
    (a correction's `corrects` is the entry itself)."""
    kind = choice(EntryKind, kind, field="kind", what="kind of entry")
    if kind not in ENTRY_FIELDS:
        raise RuleViolation(
            "Supplies are recorded with each administration.", code="kind_not_recordable"
        )
    # Each field the kind needs, or a refusal naming the first missing (never a
    # TypeError from the call below); a note left out is an empty one.
    missing = [name for name in ENTRY_FIELDS[kind] if name not in fields and name != "note"]
    if missing:
        raise RuleViolation(
            f"A {kind.label.lower()} entry needs its {missing[0].replace('_', ' ')}.",
            code="field_required",
            field=missing[0],
        )
    given = {name: fields.get(name, "") for name in ENTRY_FIELDS[kind]}
    if kind == EntryKind.RECEIPT:
        return register_receive(section=section, received_by=by, now=now, **given)
    if kind == EntryKind.WASTE:
        return register_waste(section=section, recorded_by=by, now=now, **given)
    if kind == EntryKind.DESTRUCTION:
        return register_destroy(section=section, recorded_by=by, now=now, **given)
    if kind == EntryKind.STOCK_CHECK:
        return register_stock_check(section=section, checked_by=by, now=now, **given)
    return register_correct(
        entry=given.get("corrects"),  # type: ignore[arg-type]
        note=given.get("note", ""),
        corrected_by=by,
        now=now,
    )
