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
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from alerts.models import AlertKind
from alerts.services import alert_raise
from core.errors import Conflict, RuleViolation, choice, require_reason
from eligibility.models import Clinic

from .mg import format_mg, parse_mg
from .models import (
    DIAMORPHINE,
    EntryKind,
    RegisterEntry,
    RegisterSection,
)
from .register_ledger import (
    MAX_REGISTER_MG,
    ampoules_opened,
    one_of,
    register_append,
    whole_ampoules,
)
from .witness import witness_confirm

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
    ampoules = whole_ampoules(ampoules, field="ampoules", what="received")
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
        return register_append(
            section,
            kind=EntryKind.RECEIPT,
            by=received_by,
            now=now,
            occurred_at=occurred_at,
            ampoules_in=ampoules,
            ampoules=ampoules,
            supplier_name=supplier_name,
            supplier_address=supplier_address,
            batch=batch,
            expiry=expiry,
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
    ampoules=None,
    quantity_mg=None,
    note: str,
    recorded_by,
    witness_username: str,
    witness_password: str,
    now: dt.datetime | None = None,
) -> RegisterEntry:
    """Ampoules opened but not used for a dose (a dose drawn, then withheld), wasted
    whole in front of a witness who confirms with their own credentials. Given as the
    ampoules opened, or as the mg drawn up, which opened as many ampoules as it needs."""
    now = now or timezone.now()
    one_of(ampoules, "ampoules", quantity_mg, "quantity_mg")
    if ampoules not in (None, ""):
        ampoules = whole_ampoules(ampoules, field="ampoules", what="opened and wasted")
    elif quantity_mg not in (None, ""):
        drawn = parse_mg(quantity_mg, field="quantity_mg", maximum=MAX_REGISTER_MG)
        ampoules = whole_ampoules(
            ampoules_opened(drawn, section), field="quantity_mg", what="opened and wasted"
        )
    else:
        raise RuleViolation(
            "Give the number of ampoules opened and wasted.",
            code="field_required",
            field="ampoules",
        )
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
        return register_append(
            section,
            kind=EntryKind.WASTE,
            by=recorded_by,
            now=now,
            ampoules_out=ampoules,
            ampoules=ampoules,
            waste_mg=section.strength_mg * ampoules,
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
    ampoules = whole_ampoules(ampoules, field="ampoules", what="destroyed")
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
        return register_append(
            section,
            kind=EntryKind.DESTRUCTION,
            by=recorded_by,
            now=now,
            ampoules_out=ampoules,
            ampoules=ampoules,
            witness=witness,
            note=note,
        )


def register_stock_check(
    *,
    section: RegisterSection,
    checked_by,
    counted_ampoules=None,
    counted_mg=None,
    note: str = "",
    now: dt.datetime | None = None,
) -> RegisterEntry:
    """A physical count of whole ampoules against the balance the entries add up to
    (not the section's stored copy). Given in ampoules, or in mg that make whole
    ampoules. A difference raises a register discrepancy alert; the balance stays
    what the entries say until explained."""
    now = now or timezone.now()
    one_of(counted_ampoules, "counted_ampoules", counted_mg, "counted_mg")
    if counted_ampoules not in (None, ""):
        counted = whole_ampoules(
            counted_ampoules, field="counted_ampoules", what="counted", allow_zero=True
        )
    elif counted_mg not in (None, ""):
        mg = parse_mg(counted_mg, field="counted_mg", allow_zero=True, maximum=MAX_REGISTER_MG)
        if mg % section.strength_mg:
            raise RuleViolation(
                f"Count whole ampoules: {format_mg(mg)} mg is not a whole number of "
                f"{format_mg(section.strength_mg)} mg {section.form}s.",
                code="count_whole_ampoules",
                field="counted_mg",
            )
        counted = whole_ampoules(
            int(mg / section.strength_mg), field="counted_mg", what="counted", allow_zero=True
        )
    else:
        raise RuleViolation(
            "Give the number of ampoules counted.", code="field_required", field="counted_ampoules"
        )
    with transaction.atomic():
        entry = register_append(
            section,
            kind=EntryKind.STOCK_CHECK,
            by=checked_by,
            now=now,
            counted_ampoules=counted,
            counted_mg=section.strength_mg * counted,
            note=(note or "").strip(),
        )
        if counted != entry.balance_ampoules:
            alert_raise(
                kind=AlertKind.REGISTER_DISCREPANCY,
                clinic=section.clinic,
                cause_key=f"stock-check:{entry.pk}",
                detail=f"{section}: counted {section.count(counted)}, the register says "
                f"{section.count(entry.balance_ampoules)} (difference "
                f"{counted - entry.balance_ampoules:+d}).",
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
        return register_append(
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
    EntryKind.WASTE: ("ampoules", "quantity_mg", "note", "witness_username", "witness_password"),
    EntryKind.DESTRUCTION: ("ampoules", "note", "witness_username", "witness_password"),
    EntryKind.STOCK_CHECK: ("counted_ampoules", "counted_mg", "note"),
    EntryKind.CORRECTION: ("corrects", "note"),
}
# A kind's quantity, given one of two ways: in ampoules, or in mg.
QUANTITY_FIELDS = {
    EntryKind.WASTE: ("ampoules", "quantity_mg"),
    EntryKind.STOCK_CHECK: ("counted_ampoules", "counted_mg"),
}


def entry_fields_missing(kind: EntryKind, given) -> list[str]:
    """The fields a kind needs that were not given, its quantity first (a note left
    out is an empty one)."""
    either = QUANTITY_FIELDS.get(kind, ())
    missing = [either[0]] if either and not any(name in given for name in either) else []
    return missing + [
        name
        for name in ENTRY_FIELDS[kind]
        if name not in given and name != "note" and name not in either
    ]


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
            "Supplies are recorded with each administration."
            if kind == EntryKind.SUPPLY
            else "The move to counting in ampoules was written once, by the upgrade.",
            code="kind_not_recordable",
            field="kind",
        )
    # Each field the kind needs, or a refusal naming the first missing (never a
    # TypeError from the call below); a note left out is an empty one.
    missing = entry_fields_missing(kind, fields)
    if missing:
        raise RuleViolation(
            f"A {kind.label.lower()} entry needs its {missing[0].replace('_', ' ')}.",
            code="field_required",
            field=missing[0],
        )
    given = {name: fields[name] for name in ENTRY_FIELDS[kind] if name in fields}
    if "note" in ENTRY_FIELDS[kind]:
        given.setdefault("note", "")
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
