"""The controlled drugs register, checked: each section's balance beside its last
stock check, and the daily scan that recomputes every balance from its entries."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import DecimalField, F, OuterRef, Subquery, Sum, Value
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


# The register's quantities hold 10 digits, 2 of them decimals; a delivery or a
# destruction of more ampoules than this is a typing slip.
def register_balances(*, clinic: "Clinic") -> list[RegisterSection]:
    """Each section's balance and its last stock check (when, and whether it matched),
    in one query: the managers' summary."""
    last_check = RegisterEntry.objects.filter(
        section=OuterRef("pk"), kind=EntryKind.STOCK_CHECK
    ).order_by("-sequence")
    return list(
        RegisterSection.objects.filter(clinic=clinic)
        .annotate(
            last_check_at=Subquery(last_check.values("occurred_at")[:1]),
            last_check_counted=Subquery(last_check.values("counted_mg")[:1]),
            last_check_balance=Subquery(last_check.values("balance_mg")[:1]),
        )
        .order_by("drug", "strength_mg")
    )


def register_integrity_scan(*, now: dt.datetime | None = None) -> int:
    """Daily: every section's balance recomputed from its entries, in one query. Where
    the stored copy, or the last entry's running balance, differs from the sum, a
    register discrepancy alert is raised (once a day per section). Returns how many."""
    now = now or timezone.now()
    entries = RegisterEntry.objects.filter(section=OuterRef("pk")).order_by()
    summed = Subquery(
        entries.values("section")
        .annotate(held=Sum("quantity_in_mg") - Sum("quantity_out_mg"))
        .values("held")[:1]
    )
    money = DecimalField(max_digits=12, decimal_places=2)
    wrong = (
        RegisterSection.objects.annotate(
            held=Coalesce(summed, Value(Decimal("0")), output_field=money),
            running=Coalesce(
                Subquery(entries.order_by("-sequence").values("balance_mg")[:1]),
                Value(Decimal("0")),
                output_field=money,
            ),
        )
        .exclude(held=F("balance_mg"), running=F("held"))
        .select_related("clinic")
    )
    raised = 0
    for section in wrong:  # none, unless someone changed the database by hand
        raised += (
            alert_raise(
                kind=AlertKind.REGISTER_DISCREPANCY,
                clinic=section.clinic,
                cause_key=f"integrity:{section.pk}:{section.clinic.clinic_day_of(now)}",
                detail=f"{section}: the entries add up to {format_mg(section.held)} mg, but the "
                f"stored balance says {format_mg(section.balance_mg)} mg and the last entry "
                f"{format_mg(section.running)} mg. The register was changed outside the app: "
                "check the stock and the database's access.",
                now=now,
            )
            is not None
        )
    return raised
