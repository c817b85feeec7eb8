"""Retention: treatment episodes followed to their end, the Kaplan-Meier curve, time in
treatment, and exits by kind."""

import datetime as dt

from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from dosing.models import (
    EXIT_DETAILS,
    Exit,
)
from eligibility.models import Referral

from .common import Filters
from .rows import Band, CurvePoint, EpisodeSummary, Retention


class DaysBetween(Func):
    """Whole days from the first date to the second, on SQLite and PostgreSQL."""

    output_field = IntegerField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):
        # PostgreSQL subtracts dates to whole days.
        return super().as_sql(compiler, connection, template="(%(expressions)s)", **extra)

    @property
    def arg_joiner(self):
        return " - "

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


# The bands of time in treatment that the retention table shows, in weeks.
BANDS = [(0, 4), (4, 12), (12, 26), (26, 52), (52, 104), (104, None)]
# The points of the curve that the per-clinic table shows.
MILESTONES = [4, 12, 26, 52]


def retention(filters: Filters, *, today: dt.date | None = None) -> Retention:
    """Treatment episodes admitted in the range, followed to its end (or today, if
    sooner): time in treatment, the Kaplan-Meier retention curve by weeks since
    admission (someone still in treatment is censored at that day), and the exits in
    the range by kind. Each clinic and the total. Three queries."""
    as_of = min(filters.end, today or timezone.localdate())
    names = dict(filters.clinics.order_by("name").values_list("pk", "name"))
    ended = Q(exit__exited_on__lte=as_of)
    episodes = (
        Referral.objects.filter(clinic__in=filters.clinics, admitted_at__isnull=False)
        .annotate(admitted_on=TruncDate("admitted_at", tzinfo=timezone.get_current_timezone()))
        .filter(admitted_on__gte=filters.start, admitted_on__lte=filters.end)
        .annotate(
            ended=ExpressionWrapper(ended, output_field=BooleanField()),
            days=DaysBetween(
                Case(When(ended, then=F("exit__exited_on")), default=Value(as_of)),
                "admitted_on",
            ),
        )
        .values("clinic", "days", "ended")
        .annotate(episodes=Count("pk"))
    )
    groups: dict[int, list[tuple[int, bool, int]]] = {pk: [] for pk in names}
    for row in episodes:
        groups[row["clinic"]].append((max(row["days"], 0), bool(row["ended"]), row["episodes"]))
    exits = list(
        Exit.objects.filter(
            service_user__clinic__in=filters.clinics,
            exited_on__gte=filters.start,
            exited_on__lte=filters.end,
        )
        .values("service_user__clinic", "kind", "detail")
        .annotate(exits=Count("pk"))
    )
    everyone = [row for rows in groups.values() for row in rows]
    kinds = [(kind, detail) for kind, details in EXIT_DETAILS.items() for detail in details]
    exit_counts = {
        (row["service_user__clinic"], row["kind"], row["detail"]): row["exits"] for row in exits
    }
    curve = km_curve(everyone)
    return {
        "as_of": as_of,
        "curve": curve,
        "bands": time_in_treatment(everyone),
        "by_clinic": [
            {"clinic": pk, "name": name, **episode_summary(groups[pk])}
            for pk, name in names.items()
        ],
        "total": episode_summary(everyone, curve=curve),
        "exits": [
            {
                "kind": kind.value,
                "kind_label": kind.label,
                "detail": detail.value,
                "detail_label": detail.label,
                "label": exit_label(kind, detail),
                "by_clinic": [exit_counts.get((pk, kind, detail), 0) for pk in names],
                "total": sum(exit_counts.get((pk, kind, detail), 0) for pk in names),
            }
            for kind, detail in kinds
        ],
    }


def exit_label(kind, detail) -> str:
    """An exit's row label: its kind, and the detail when the kind has more than one."""
    if len(EXIT_DETAILS[kind]) == 1:
        return kind.label
    return f"{kind.label}: {detail.label}"


def km_curve(episodes: list[tuple[int, bool, int]]) -> list[CurvePoint]:
    """The Kaplan-Meier estimate of the share still in treatment at each whole week
    since admission, from (days in treatment, ended, how many) groups. An episode
    still going is censored at its day: it counts as at risk up to and including it.
    Each point gives the number at risk (followed at least that many weeks) and the
    exits and censorings in the week up to it."""
    if not episodes:
        return []
    ended: dict[int, int] = {}
    censored: dict[int, int] = {}
    for days, did_end, count in episodes:
        target = ended if did_end else censored
        target[days] = target.get(days, 0) + count
    at_risk = sum(count for _, _, count in episodes)
    survival = 1.0
    event_days = iter(sorted(set(ended) | set(censored)))
    day: int | None = next(event_days)
    points: list[CurvePoint] = []
    for week in range(max(ended | censored) // 7 + 1):
        exits = censorings = 0
        followed = None  # at risk on the point's own day: followed at least that long
        while day is not None and day <= 7 * week:
            if day == 7 * week:
                followed = at_risk
            if ended.get(day):
                survival *= 1 - ended[day] / at_risk
            exits += ended.get(day, 0)
            censorings += censored.get(day, 0)
            at_risk -= ended.get(day, 0) + censored.get(day, 0)
            day = next(event_days, None)
        points.append(
            {
                "week": week,
                "at_risk": at_risk if followed is None else followed,
                "exits": exits,
                "censored": censorings,
                "retained": round(100 * survival, 1),
            }
        )
    return points


def episode_summary(episodes: list[tuple[int, bool, int]], *, curve=None) -> EpisodeSummary:
    """How many episodes, still in treatment and ended; the median time in treatment
    (Kaplan-Meier, in weeks; None until half have left); the mean length of the
    episodes that ended; and the share retained at 4, 12, 26 and 52 weeks (None
    once nobody is followed that long). `curve`: their km_curve, if already drawn."""
    curve = km_curve(episodes) if curve is None else curve
    ended = [(days, count) for days, did_end, count in episodes if did_end]
    ended_count = sum(count for _, count in ended)
    total = sum(count for _, _, count in episodes)
    return {
        "episodes": total,
        "in_treatment": total - ended_count,
        "ended": ended_count,
        "median_weeks": next((p["week"] for p in curve if p["retained"] <= 50), None),
        "mean_days_ended": (
            round(sum(days * count for days, count in ended) / ended_count, 1)
            if ended_count
            else None
        ),
        "retained": {
            week: (curve[week]["retained"] if week < len(curve) else None) for week in MILESTONES
        },
    }


def time_in_treatment(episodes: list[tuple[int, bool, int]]) -> list[Band]:
    """Episodes by weeks in treatment: still in treatment, and ended."""
    rows: list[Band] = []
    for low, high in BANDS:
        inside = [
            (did_end, count)
            for days, did_end, count in episodes
            if days // 7 >= low and (high is None or days // 7 < high)
        ]
        rows.append(
            {
                "band": f"{low} to {high} weeks" if high else f"{low}+ weeks",
                "in_treatment": sum(c for did_end, c in inside if not did_end),
                "ended": sum(c for did_end, c in inside if did_end),
            }
        )
    return rows
