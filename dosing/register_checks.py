"""The controlled drugs register, checked: each section's balance beside its last
stock check, and the daily scan that recomputes every balance from its entries."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import DecimalField, F, Field, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import alert_raise

from .mg import format_mg
from .models import (
    EntryKind,
    RegisterEntry,
    RegisterSection,
)

if TYPE_CHECKING:
    from eligibility.models import Clinic


def register_balances(*, clinic: "Clinic") -> list[Any]:
    """Each section's balance and its last stock check (when, and whether it matched),
    in one query: the managers' summary. ``last_check_mismatch`` says what a check
    that did not match counted, against what the register said."""
    last_check = RegisterEntry.objects.filter(
        section=OuterRef("pk"), kind=EntryKind.STOCK_CHECK
    ).order_by("-sequence")
    sections: list[Any] = list(
        RegisterSection.objects.filter(clinic=clinic)
        .annotate(
            last_check_at=Subquery(last_check.values("occurred_at")[:1]),
            last_check_counted=Subquery(last_check.values("counted_mg")[:1]),
            last_check_balance=Subquery(last_check.values("balance_mg")[:1]),
        )
        .order_by("drug", "strength_mg")
    )
    for section in sections:
        counted, held = section.last_check_counted, section.last_check_balance
        section.last_check_mismatch = (
            ""
            if counted == held
            else f"counted {_in_units(section, counted)} against {_in_units(section, held)}"
        )
    return sections


def _in_units(section: RegisterSection, mg: Decimal) -> str:
    """A checked amount in ampoules where it is whole ampoules (every check since the
    register counts ampoules), else in mg (a check from before)."""
    ampoules, part = divmod(mg, section.strength_mg)
    return section.count(int(ampoules)) if not part else f"{format_mg(mg)} mg"


def register_integrity_scan(*, now: dt.datetime | None = None) -> int:
    """Daily: every section's balance recomputed from its entries, in ampoules and in
    mg, in one query. Where the stored copy or the last entry's running balance
    differs from the sum, or the mg are not the ampoules times the strength, a
    register discrepancy alert is raised (once a day per section). Returns how many."""
    now = now or timezone.now()
    entries = RegisterEntry.objects.filter(section=OuterRef("pk")).order_by()
    by_section = entries.values("section")

    def summed(
        into: str, out: str, zero: int | Decimal, output_field: "Field[Any, Any]"
    ) -> Coalesce:
        held = by_section.annotate(held=Sum(into) - Sum(out)).values("held")[:1]
        return Coalesce(Subquery(held), Value(zero), output_field=output_field)

    def last(field: str, zero: int | Decimal, output_field: "Field[Any, Any]") -> Coalesce:
        running = entries.order_by("-sequence").values(field)[:1]
        return Coalesce(Subquery(running), Value(zero), output_field=output_field)

    money, count = DecimalField(max_digits=12, decimal_places=2), IntegerField()
    nothing = Decimal("0")
    wrong = (
        RegisterSection.objects.annotate(
            held=summed("ampoules_in", "ampoules_out", 0, count),
            running=last("balance_ampoules", 0, count),
            held_mg=summed("quantity_in_mg", "quantity_out_mg", nothing, money),
            running_mg=last("balance_mg", nothing, money),
        )
        .exclude(
            held=F("balance_ampoules"),
            running=F("held"),
            held_mg=F("balance_mg"),
            running_mg=F("held_mg"),
            balance_mg=F("balance_ampoules") * F("strength_mg"),
        )
        .select_related("clinic")
    )
    raised = 0
    for section in wrong:  # none, unless someone changed the database by hand
        raised += (
            alert_raise(
                kind=AlertKind.REGISTER_DISCREPANCY,
                clinic=section.clinic,
                cause_key=f"integrity:{section.pk}:{section.clinic.clinic_day_of(now)}",
                detail=f"{section}: the entries add up to {section.held} {section.form}s "
                f"and {format_mg(section.held_mg)} mg, but the stored balance says "
                f"{section.balance_ampoules} {section.form}s and "
                f"{format_mg(section.balance_mg)} mg, and the last entry {section.running} "
                f"{section.form}s and {format_mg(section.running_mg)} mg. "
                "The register was changed outside the app: check the stock and the "
                "database's access.",
                now=now,
            )
            is not None
        )
    return raised
