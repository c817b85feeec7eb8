"""The managers' dashboards (DOMAIN.md, "What managers look at"). Every number is
aggregated in SQL, a fixed number of queries whatever the size of the history."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from dosing.models import DoseSession, SessionStatus

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}

# The outcome columns, in the order the tables show them.
OUTCOMES = {
    "administered": Q(status__in=[SessionStatus.ADMINISTERED, SessionStatus.OBSERVED]),
    "withheld": Q(status=SessionStatus.WITHHELD),
    "declined": Q(status=SessionStatus.DECLINED),
    "missed": Q(status=SessionStatus.MISSED),
    "excused": Q(status=SessionStatus.EXCUSED),
    "open": Q(status__in=[SessionStatus.SCHEDULED, SessionStatus.ASSESSED]),
}
COLUMNS = ["scheduled", *OUTCOMES]


@dataclass(frozen=True)
class Filters:
    clinics: QuerySet
    start: dt.date
    end: dt.date  # inclusive


def _counts():
    return {
        "scheduled": Count("pk"),
        **{name: Count("pk", filter=q) for name, q in OUTCOMES.items()},
    }


def adherence(row) -> float | None:
    """Doses taken as a share of the sessions that counted: scheduled, less excused
    and those still open. None when no session counted."""
    counted = row["scheduled"] - row["excused"] - row["open"]
    return round(100 * row["administered"] / counted, 1) if counted else None


def attendance(filters: Filters, *, period: str = "week") -> dict:
    """Sessions scheduled against each outcome: in total, by day, week or month, by
    slot, and by service user with their adherence. Four queries."""
    sessions = DoseSession.objects.filter(
        clinic__in=filters.clinics, clinic_day__gte=filters.start, clinic_day__lte=filters.end
    )
    totals = sessions.aggregate(**_counts())
    by_period = list(
        sessions.annotate(period=PERIODS[period]("clinic_day"))
        .values("period")
        .annotate(**_counts())
        .order_by("period")
    )
    by_slot = list(sessions.values("slot_code").annotate(**_counts()).order_by("slot_code"))
    by_person = list(
        sessions.values(
            "service_user",
            "service_user__given_name",
            "service_user__family_name",
            "service_user__preferred_name",
        )
        .annotate(**_counts())
        .order_by("service_user__family_name", "service_user__given_name", "service_user")
    )
    for row in [totals, *by_period, *by_slot, *by_person]:
        row["adherence"] = adherence(row)
    for row in by_period:
        # TruncDay on a date gives a date on SQLite and PostgreSQL alike.
        row["period"] = (
            row["period"] if isinstance(row["period"], dt.date) else row["period"].date()
        )
    for row in by_person:
        row["name"] = row["service_user__preferred_name"] or (
            f"{row['service_user__given_name']} {row['service_user__family_name']}"
        )
    return {
        "totals": totals,
        "by_period": by_period,
        "by_slot": by_slot,
        "by_service_user": by_person,
    }
