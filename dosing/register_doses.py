"""The controlled drugs register beside each dose: the ampoules a dose opens, its
waste, and the register's side of a corrected injection (docs/domain.md,
"Controlled drugs register" and "Corrections")."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .mg import format_mg
from .models import Administration, EntryKind, RegisterSection
from .register_ledger import ampoules_opened, dose_waste_mg, register_append

if TYPE_CHECKING:
    from .effective import Injection


def register_supply_for(administration: Administration, *, now: dt.datetime) -> None:
    """Called inside the dose's transaction: the dose opens as many whole ampoules of
    the clinic's dose-supply section as its drawn amount needs, and what is left of
    them, with anything drawn but not injected, is recorded as waste, witnessed by the
    dose's witness. A clinic without a register section for doses records nothing
    here. Too little in the register refuses the dose."""
    session = administration.session
    section = RegisterSection.objects.filter(
        clinic_id=session.clinic_id, supplies_doses=True
    ).first()
    if section is None:
        return
    drawn, injected = administration.drawn_mg, administration.injected_mg
    opened = ampoules_opened(drawn, section)
    register_append(
        section,
        kind=EntryKind.SUPPLY,
        by=administration.nurse,
        now=now,
        occurred_at=administration.injected_at,
        ampoules_out=opened,
        ampoules=opened,
        refusal_field="drawn_mg",
        session=session,
        administration=administration,
        witness=administration.witness,
        note=f"{session.slot_code} {session.clinic_day:%d %b}, injection "
        f"{administration.sequence}: {format_mg(drawn)} mg drawn up from {section.count(opened)}.",
    )
    waste = dose_waste_mg(drawn, injected, section)
    if waste > 0:
        register_append(
            section,
            kind=EntryKind.WASTE,
            by=administration.nurse,
            now=now,
            occurred_at=administration.injected_at,
            session=session,
            administration=administration,
            witness=administration.witness,
            waste_mg=waste,
            note=f"{_waste_parts(drawn, injected, section)}, of the "
            f"{section.count(opened)} opened above; destroyed.",
        )


def _waste_parts(drawn: Decimal, injected: Decimal, section: RegisterSection) -> str:
    """What a dose's waste line says it holds, e.g. "5 mg drawn but not injected and
    40 mg left in the opened ampoule"."""
    left = section.strength_mg * ampoules_opened(drawn, section) - drawn
    parts = []
    if drawn > injected:
        parts.append(f"{format_mg(drawn - injected)} mg drawn but not injected")
    if left > 0:
        parts.append(f"{format_mg(left)} mg left in the opened {section.form}")
    said = " and ".join(parts)  # called only for a waste above 0: one part at least
    return said[0].upper() + said[1:]


def register_correct_injection(
    *,
    administration: Administration,
    before: "Injection",
    after: "Injection",
    by: Any,
    witness: Any,
    reason: str,
    now: dt.datetime,
) -> None:
    """Called inside a correction's transaction: the register follows the injection as
    corrected. A changed drawn amount is a correction of its supply, saying how many
    ampoules the dose now opened and taking out (or putting back) the difference; a
    changed waste (what the opened ampoules held less what was injected) is a
    correction of its waste entry, or a new waste entry where there was none.
    ``before`` and ``after`` are the injection as it read before and as it now reads
    (dosing.effective.Injection). An injection recorded before the clinic kept its
    register here has no supply to correct."""
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
        was, now_opened = (ampoules_opened(i.drawn_mg, section) for i in (before, after))
        register_append(
            section,
            kind=EntryKind.CORRECTION,
            corrects=supply,
            corrected_mg=section.strength_mg * now_opened,
            ampoules=now_opened,
            ampoules_out=max(now_opened - was, 0),
            ampoules_in=max(was - now_opened, 0),
            refusal_field="drawn_mg",
            note=f"Drawn up corrected from {format_mg(before.drawn_mg)} mg to "
            f"{format_mg(after.drawn_mg)} mg, from {section.count(now_opened)}"
            f"{'' if was == now_opened else f' (not {was})'}: {reason}",
            **common,
        )
    waste_before, waste_after = (
        dose_waste_mg(i.drawn_mg, i.injected_mg, section) for i in (before, after)
    )
    if waste_after != waste_before:
        waste = administration.register_entries.filter(kind=EntryKind.WASTE).first()
        if waste is None:
            register_append(
                section,
                kind=EntryKind.WASTE,
                occurred_at=after.injected_at,
                waste_mg=waste_after,
                note=f"{_waste_parts(after.drawn_mg, after.injected_mg, section)}, found by "
                f"a correction; destroyed: {reason}",
                **common,
            )
        else:
            register_append(
                section,
                kind=EntryKind.CORRECTION,
                corrects=waste,
                corrected_mg=waste_after,
                note=f"Waste corrected from {format_mg(waste_before)} mg to "
                f"{format_mg(waste_after)} mg: {reason}",
                **common,
            )
