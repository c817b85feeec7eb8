"""Doses away from the room, by month: take-home supplies, returns and lapses, and
guest sessions, hosted and away (issue 19.7). Part of the workload dashboard."""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from dosing.models import (
    DoseSession,
    SessionStatus,
    TakeHomeLapse,
    TakeHomeReturn,
    TakeHomeSupply,
)

from .common import Filters
from .rows import AwayMonth

COUNTS = (
    "supplies",
    "doses_supplied",
    "returns",
    "doses_returned",
    "lapses",
    "guest_sessions_hosted",
    "guest_sessions_away",
)


def away_by_month(filters: Filters, clinics: list[Any]) -> list[AwayMonth]:
    """Each clinic's months in the range that had any, oldest first. An instant falls
    in the month of its day in the installation's time zone. Four queries, each served
    by an index on its time (take_home_supply_month_idx, take_home_return_month_idx,
    take_home_lapse_month_idx, session_day_idx)."""
    local = timezone.get_current_timezone()
    ids = [clinic.pk for clinic in clinics]
    since = dt.datetime.combine(filters.start, dt.time(0), tzinfo=local)
    until = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time(0), tzinfo=local)
    counted: dict[tuple[dt.date, int], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(COUNTS, 0)
    )

    def add(rows: QuerySet[Any], clinic_key: str) -> None:
        for row in rows:
            month = row.pop("month")
            counted[
                (month.date() if isinstance(month, dt.datetime) else month, row.pop(clinic_key))
            ].update(row)

    def in_months(model: Any, at: str, clinic_key: str, **counts: Any) -> None:
        """A model's rows of these clinics whose instant `at` is in the range."""
        add(
            model.objects.filter(
                **{f"{clinic_key}__in": ids, f"{at}__gte": since, f"{at}__lt": until}
            )
            .annotate(month=TruncMonth(at, tzinfo=local))
            .values("month", clinic_key)
            .annotate(**counts)
            .order_by(),
            clinic_key,
        )

    in_months(
        TakeHomeSupply,
        "supplied_at",
        "clinic",
        supplies=Count("pk", distinct=True),
        doses_supplied=Count("doses"),
    )
    in_months(
        TakeHomeReturn,
        "received_at",
        "supply__clinic",
        returns=Count("pk", distinct=True),
        doses_returned=Count("doses"),
    )
    in_months(TakeHomeLapse, "occurred_at", "service_user__clinic", lapses=Count("pk"))
    add(
        DoseSession.objects.filter(
            clinic__in=ids,
            clinic_day__gte=filters.start,
            clinic_day__lte=filters.end,
            guest_stay__isnull=False,
        )
        .annotate(month=TruncMonth("clinic_day"))
        .values("month", "clinic")
        .annotate(
            guest_sessions_hosted=Count("pk", filter=~Q(status=SessionStatus.GUEST)),
            guest_sessions_away=Count("pk", filter=Q(status=SessionStatus.GUEST)),
        )
        .order_by(),
        "clinic",
    )
    names = {clinic.pk: clinic.name for clinic in clinics}
    return [
        AwayMonth(
            month=month,
            clinic=clinic,
            name=names[clinic],
            supplies=counts["supplies"],
            doses_supplied=counts["doses_supplied"],
            returns=counts["returns"],
            doses_returned=counts["doses_returned"],
            lapses=counts["lapses"],
            guest_sessions_hosted=counts["guest_sessions_hosted"],
            guest_sessions_away=counts["guest_sessions_away"],
        )
        for (month, clinic), counts in sorted(
            counted.items(), key=lambda item: (item[0][0], names[item[0][1]])
        )
    ]
