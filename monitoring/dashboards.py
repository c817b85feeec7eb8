"""The managers' dashboards (DOMAIN.md, "What managers look at"). Every number is
aggregated in SQL, a fixed number of queries whatever the size of the history."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
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


def outcomes(filters: Filters) -> dict:
    """By month of sample: the share of tox screens positive for the street heroin
    markers, and for each other substance (among the screens that tested it).
    Two queries."""
    from .models import STREET_HEROIN_MARKERS, Substance, ToxResult, ToxScreen, ToxScreenResult

    screens = ToxScreen.objects.filter(
        clinic__in=filters.clinics,
        sample_date__gte=filters.start,
        sample_date__lte=filters.end,
    )
    markers_tested = Exists(
        ToxScreenResult.objects.filter(
            screen=OuterRef("pk"), substance__in=STREET_HEROIN_MARKERS
        ).exclude(result=ToxResult.NOT_TESTED)
    )
    heroin = list(
        screens.filter(markers_tested)
        .annotate(month=TruncMonth("sample_date"))
        .values("month")
        .annotate(tested=Count("pk"), positive=Count("pk", filter=Q(street_heroin=True)))
        .order_by("month")
    )
    others = list(
        ToxScreenResult.objects.filter(screen__in=screens)
        .exclude(substance__in=STREET_HEROIN_MARKERS)
        .exclude(result=ToxResult.NOT_TESTED)
        .annotate(month=TruncMonth("screen__sample_date"))
        .values("month", "substance")
        .annotate(tested=Count("pk"), positive=Count("pk", filter=Q(result=ToxResult.POSITIVE)))
        .order_by("month", "substance")
    )
    months = sorted({_day(r["month"]) for r in heroin} | {_day(r["month"]) for r in others})
    labels = {"street_heroin": "Street heroin markers"} | {
        s.value: s.label for s in Substance if s not in STREET_HEROIN_MARKERS
    }
    table = {month: {} for month in months}
    for row in heroin:
        table[_day(row["month"])]["street_heroin"] = (row["positive"], row["tested"])
    for row in others:
        table[_day(row["month"])][row["substance"]] = (row["positive"], row["tested"])
    rows = [
        {
            "month": month,
            "cells": [
                _share(*table[month].get(code, (0, 0))) | {"substance": code} for code in labels
            ],
        }
        for month in months
    ]
    return {"substances": labels, "rows": rows}


def _day(value):
    return (
        value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else value.date()
    )


def _share(positive: int, tested: int) -> dict:
    return {
        "positive": positive,
        "tested": tested,
        "percent": round(100 * positive / tested, 1) if tested else None,
    }
