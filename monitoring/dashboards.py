"""The managers' dashboards (DOMAIN.md, "What managers look at"). The records are
counted in SQL (over the daily roll-ups of monitoring/rollups.py where there are
any), in a fixed number of queries whatever the size of the history; only the few
counted rows are added up or turned into a curve here."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from alerts.models import Alert, AlertKind
from dosing.models import (
    EXIT_DETAILS,
    Amendment,
    DoseSession,
    Exit,
    Observation,
    SessionStatus,
    WithholdReason,
)
from dosing.selectors import with_review_from
from eligibility.models import IN_TREATMENT, Referral, ServiceUser, Status, StatusChange
from eligibility.pathway import WAITING, free_places
from eligibility.selectors import attach_policies_in_force

from .models import STREET_HEROIN_MARKERS, Substance, ToxScreen
from .rollups import (
    COLUMNS,
    as_date,
    attendance_people,
    attendance_rows,
    rolled_through,
    tox_month_rows,
)
from .scans import MONITORED


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


PERIODS = {
    "day": lambda day: day,
    "week": _monday,
    "month": lambda day: day.replace(day=1),
}


@dataclass(frozen=True)
class Filters:
    clinics: QuerySet
    start: dt.date
    end: dt.date  # inclusive


def adherence(row) -> float | None:
    """Doses taken as a share of the sessions that counted: scheduled, less excused
    and those still open. None when no session counted."""
    counted = row["scheduled"] - row["excused"] - row["open"]
    return round(100 * row["administered"] / counted, 1) if counted else None


def _summed(rows, key, **fields) -> dict:
    """Add up the outcome columns of pre-counted rows by key; `fields` names what to
    keep of each group's first row."""
    groups: dict = {}
    for row in rows:
        group = groups.get(key(row))
        if group is None:
            group = groups[key(row)] = {
                **{name: source(row) for name, source in fields.items()},
                **dict.fromkeys(COLUMNS, 0),
            }
        for column in COLUMNS:
            group[column] += row[column]
    return groups


def attendance(filters: Filters, *, period: str = "week") -> dict:
    """Sessions scheduled against each outcome: in total, by day, week or month, by
    slot, by service user with their adherence, and by clinic. The counting is done
    in SQL (over the daily roll-up for settled days and the sessions for the rest:
    monitoring/rollups.py); the few thousand counted rows are added up here. Six
    queries."""
    through = rolled_through()
    rows = attendance_rows(filters.clinics, filters.start, filters.end, through=through)
    totals = _summed(rows, lambda r: None).get(None, dict.fromkeys(COLUMNS, 0))
    truncate = PERIODS[period]
    by_period = sorted(
        _summed(
            rows, lambda r: truncate(r["clinic_day"]), period=lambda r: truncate(r["clinic_day"])
        ).values(),
        key=lambda r: r["period"],
    )
    by_slot = sorted(
        _summed(rows, lambda r: r["slot_code"], slot_code=lambda r: r["slot_code"]).values(),
        key=lambda r: r["slot_code"],
    )
    by_clinic = sorted(
        _summed(
            rows,
            lambda r: r["clinic"],
            clinic=lambda r: r["clinic"],
            clinic__name=lambda r: r["clinic__name"],
        ).values(),
        key=lambda r: r["clinic__name"],
    )
    by_person = _summed(
        attendance_people(filters.clinics, filters.start, filters.end, through=through),
        lambda r: r["service_user"],
        service_user=lambda r: r["service_user"],
    )
    # Names after counting: grouping by them too made the database sort every row.
    for pk, given, family, preferred in ServiceUser.objects.filter(
        clinic__in=filters.clinics
    ).values_list("pk", "given_name", "family_name", "preferred_name"):
        if pk in by_person:
            by_person[pk].update(
                service_user__given_name=given,
                service_user__family_name=family,
                service_user__preferred_name=preferred,
            )
    by_person = sorted(
        by_person.values(),
        key=lambda r: (
            r["service_user__family_name"],
            r["service_user__given_name"],
            r["service_user"],
        ),
    )
    for row in [totals, *by_period, *by_slot, *by_person, *by_clinic]:
        row["adherence"] = adherence(row)
    for row in by_person:
        row["name"] = row["service_user__preferred_name"] or (
            f"{row['service_user__given_name']} {row['service_user__family_name']}"
        )
    return {
        "totals": totals,
        "by_period": by_period,
        "by_slot": by_slot,
        "by_service_user": by_person,
        "by_clinic": by_clinic,
    }


def outcomes(filters: Filters) -> dict:
    """By month of sample: the share of tox screens positive for the street heroin
    markers, and for each other substance (among the screens that tested it); and
    the street heroin share by clinic over the whole range. Counted in SQL (over the
    daily roll-up and the screens recorded since: monitoring/rollups.py); five
    queries."""
    names = dict(filters.clinics.order_by("name").values_list("pk", "name"))
    rows = tox_month_rows(filters.clinics, filters.start, filters.end)
    table: dict = {}
    clinic_heroin = {pk: [0, 0] for pk in names}
    for row in rows:
        month = as_date(row["period"])
        cell = table.setdefault(month, {}).setdefault(row["substance"], [0, 0])
        cell[0] += row["positive"]
        cell[1] += row["tested"]
        if row["substance"] == "street_heroin":
            clinic_heroin[row["clinic"]][0] += row["positive"]
            clinic_heroin[row["clinic"]][1] += row["tested"]
    labels = {"street_heroin": "Street heroin markers"} | {
        s.value: s.label for s in Substance if s not in STREET_HEROIN_MARKERS
    }
    rows = [
        {
            "month": month,
            "cells": [
                _share(*table[month].get(code, (0, 0))) | {"substance": code} for code in labels
            ],
        }
        for month in sorted(table)
    ]
    return {
        "substances": labels,
        "rows": rows,
        "by_clinic": [
            {"clinic": pk, "name": name} | _share(*clinic_heroin[pk])
            for pk, name in names.items()
            if clinic_heroin[pk][1]
        ],
    }


def _share(positive: int, tested: int) -> dict:
    return {
        "positive": positive,
        "tested": tested,
        "percent": round(100 * positive / tested, 1) if tested else None,
    }


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


def retention(filters: Filters, *, today: dt.date | None = None) -> dict:
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


def km_curve(episodes: list[tuple[int, bool, int]]) -> list[dict]:
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
    days = iter(sorted(set(ended) | set(censored)))
    day = next(days)
    points = []
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
            day = next(days, None)
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


def episode_summary(episodes: list[tuple[int, bool, int]], *, curve=None) -> dict:
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


def time_in_treatment(episodes: list[tuple[int, bool, int]]) -> list[dict]:
    """Episodes by weeks in treatment: still in treatment, and ended."""
    rows = []
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


def _by_clinic(rows, key="clinic") -> dict[int, dict]:
    return {row.pop(key): row for row in rows}


def workload(filters: Filters, *, now: dt.datetime | None = None) -> dict:
    """For each clinic and in total. Now: places taken against capacity, offers
    outstanding and the waiting list; service users overdue a prescriber review or a
    tox screen; open alerts by kind. In the date range: re-titrations by cause,
    withholds by reason, adverse events and naloxone (as amended, if corrected).
    Eleven queries."""
    now = now or timezone.now()
    clinics = attach_policies_in_force(filters.clinics.order_by("name"), at=now)
    ids = [clinic.pk for clinic in clinics]

    people = _by_clinic(
        ServiceUser.objects.filter(clinic__in=ids)
        .values("clinic")
        .annotate(
            taken=Count("pk", filter=Q(status__in=IN_TREATMENT)),
            suspended=Count("pk", filter=Q(status=Status.SUSPENDED)),
        )
        .order_by()
    )
    waiting = _by_clinic(
        Referral.objects.filter(WAITING, clinic__in=ids)
        .values("clinic")
        .annotate(
            waiting=Count("pk"),
            offered=Count("pk", filter=Q(offered_at__isnull=False)),
            longest_since=Min("decided_at"),
        )
        .order_by()
    )
    overdue = _by_clinic(_overdue(clinics, now))
    alerts = list(
        Alert.objects.filter(clinic__in=ids, acknowledged_at__isnull=True)
        .values("clinic", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    in_range = {"clinic_day__gte": filters.start, "clinic_day__lte": filters.end}
    withholds = list(
        DoseSession.objects.filter(clinic__in=ids, status=SessionStatus.WITHHELD, **in_range)
        .values("clinic", "outcome_reason")
        .annotate(n=Count("*"))  # not the id: an index-only scan of session_withheld_idx
        .order_by()
    )
    local = timezone.get_current_timezone()
    retitrations = list(
        StatusChange.objects.filter(
            service_user__clinic__in=ids, to_status=Status.RETITRATION_REQUIRED
        )
        .annotate(day=TruncDate("changed_at", tzinfo=local))
        .filter(day__gte=filters.start, day__lte=filters.end)
        .annotate(cause=RETITRATION_CAUSE)
        .values("service_user__clinic", "cause")
        .annotate(n=Count("pk"))
        .order_by()
    )
    safety = _by_clinic(
        Observation.objects.filter(
            outcome=Observation.Outcome.ADVERSE_EVENT,  # every sign counted is one
            session__clinic__in=ids,
            **{f"session__{k}": v for k, v in in_range.items()},
        )
        .values("session__clinic")
        .annotate(
            adverse_events=Count("pk", filter=Q(outcome=Observation.Outcome.ADVERSE_EVENT)),
            over_sedation=Count("pk", filter=Q(over_sedation=True)),
            overdoses=Count("pk", filter=Q(overdose=True)),
            naloxone_given=Count("pk", filter=Q(naloxone_mg__isnull=False)),
            naloxone_mg=Sum("naloxone_mg"),
            ambulances=Count("pk", filter=Q(ambulance_called=True)),
        )
        .order_by(),
        key="session__clinic",
    )
    _apply_amended_observations(safety, ids, in_range)

    rows = []
    for clinic in clinics:
        capacity = clinic.policy.capacity if clinic.policy else 0
        counts = people.get(clinic.pk, {"taken": 0, "suspended": 0})
        queue = waiting.get(clinic.pk, {"waiting": 0, "offered": 0, "longest_since": None})
        rows.append(
            {
                "clinic": clinic.pk,
                "name": clinic.name,
                "capacity": capacity,
                "taken": counts["taken"],
                "suspended": counts["suspended"],
                "offered": queue["offered"],
                "free": free_places(
                    capacity=capacity, taken=counts["taken"], offered=queue["offered"]
                ),
                "occupancy": round(100 * counts["taken"] / capacity, 1) if capacity else None,
                "waiting": queue["waiting"],
                "longest_wait_days": (
                    (clinic.clinic_day_of(now) - clinic.clinic_day_of(queue["longest_since"])).days
                    if queue["longest_since"]
                    else None
                ),
                **overdue.get(clinic.pk, {"reviews_overdue": 0, "tox_overdue": 0}),
                **{name: safety.get(clinic.pk, {}).get(name) or 0 for name in SAFETY_COLUMNS},
            }
        )
    total = {
        name: sum(row[name] for row in rows)
        for name in [
            "capacity",
            "taken",
            "suspended",
            "offered",
            "free",
            "waiting",
            "reviews_overdue",
            "tox_overdue",
            *SAFETY_COLUMNS,
        ]
    }
    total["occupancy"] = (
        round(100 * total["taken"] / total["capacity"], 1) if total["capacity"] else None
    )
    waits = [row["longest_wait_days"] for row in rows if row["longest_wait_days"] is not None]
    total["longest_wait_days"] = max(waits) if waits else None
    return {
        "by_clinic": rows,
        "total": total,
        "alerts": _crosstab(alerts, ids, "kind", AlertKind),
        "withholds": _crosstab(withholds, ids, "outcome_reason", WithholdReason),
        "retitrations": _crosstab(
            retitrations, ids, "cause", RetitrationCause, clinic_key="service_user__clinic"
        ),
    }


def _safety_signs(values: dict) -> dict:
    """What one observation adds to the safety columns, from its field values (the
    record's own, or as amended: amendments hold text)."""
    if str(values["outcome"]) != Observation.Outcome.ADVERSE_EVENT:
        return dict.fromkeys(SAFETY_COLUMNS, 0)
    naloxone = values["naloxone_mg"]
    return {
        "adverse_events": 1,
        "over_sedation": int(str(values["over_sedation"]) == "True"),
        "overdoses": int(str(values["overdose"]) == "True"),
        "naloxone_given": int(naloxone not in (None, "")),
        "naloxone_mg": Decimal(str(naloxone)) if naloxone not in (None, "") else 0,
        "ambulances": int(str(values["ambulance_called"]) == "True"),
    }


SAFETY_FIELDS = ("outcome", "over_sedation", "overdose", "naloxone_mg", "ambulance_called")


def _apply_amended_observations(safety: dict, ids: list, in_range: dict) -> None:
    """Observations corrected by amendment count as they now read: each one's
    original contribution is taken off and its amended one added. One query (the
    amendments are few)."""
    amendments = (
        Amendment.objects.filter(
            record=Amendment.Record.OBSERVATION,
            session__clinic__in=ids,
            **{f"session__{k}": v for k, v in in_range.items()},
        )
        .select_related("session__observation")
        .order_by("session", "amended_at", "pk")
    )
    by_session: dict = {}
    for amendment in amendments:
        by_session.setdefault(amendment.session_id, []).append(amendment)
    for changes in by_session.values():
        session = changes[0].session
        original = {name: getattr(session.observation, name) for name in SAFETY_FIELDS}
        amended = dict(original)
        for amendment in changes:
            amended.update({k: v["to"] for k, v in amendment.changes.items() if k in SAFETY_FIELDS})
        row = safety.setdefault(session.clinic_id, dict.fromkeys(SAFETY_COLUMNS, 0))
        before, after = _safety_signs(original), _safety_signs(amended)
        for column in SAFETY_COLUMNS:
            row[column] = (row.get(column) or 0) - before[column] + after[column]


SAFETY_COLUMNS = [
    "adverse_events",
    "over_sedation",
    "overdoses",
    "naloxone_given",
    "naloxone_mg",
    "ambulances",
]


class RetitrationCause(models.TextChoices):
    MISSED = "missed", "Sessions not taken (the missed-dose scan)"
    SUSPENSION = "suspension", "Back from a suspension"
    REVIEW = "review", "A prescriber's review"


# Who moved a person to "re-titration required" tells why: the missed-dose scan acts
# as the system (no person), a return from suspension moves from "suspended", and a
# prescriber's review is the rest.
RETITRATION_CAUSE = Case(
    When(from_status="suspended", then=Value(RetitrationCause.SUSPENSION.value)),
    When(changed_by__isnull=True, then=Value(RetitrationCause.MISSED.value)),
    default=Value(RetitrationCause.REVIEW.value),
    output_field=CharField(),
)


def _crosstab(rows, ids, key, choices, *, clinic_key="clinic") -> list[dict]:
    """Counts by a choice (every choice, in its order, zeros included) and clinic."""
    counts = {(row[clinic_key], row[key]): row["n"] for row in rows}
    return [
        {
            "code": choice.value,
            "label": choice.label,
            "by_clinic": [counts.get((pk, choice.value), 0) for pk in ids],
            "total": sum(counts.get((pk, choice.value), 0) for pk in ids),
        }
        for choice in choices
    ]


def _overdue(clinics, now) -> QuerySet:
    """Per clinic, how many people in treatment (not suspended) are overdue their
    prescriber review or tox screen now, each clinic by its own policy's intervals:
    the same dates as the overdue scans and the review queue. One query; each
    person's last review and last sample are looked up once (a CASE gives each
    clinic's cut-off, rather than one OR branch per clinic repeating the lookups)."""
    last_sample = ToxScreen.objects.filter(service_user=OuterRef("pk")).order_by("-sample_date")
    with_policy = [clinic for clinic in clinics if clinic.policy]

    def per_clinic(cut_off, output_field):
        return Case(
            *(When(clinic=clinic.pk, then=Value(cut_off(clinic))) for clinic in with_policy),
            output_field=output_field,
        )

    return (
        with_review_from(ServiceUser.objects.filter(clinic__in=with_policy, status__in=MONITORED))
        .annotate(
            tox_from=Coalesce("admitted_at", "status_changed_at"),
            last_sample=Subquery(last_sample.values("sample_date")[:1], output_field=DateField()),
            review_cut_off=per_clinic(
                lambda c: now - dt.timedelta(days=c.policy.review_interval_days), DateTimeField()
            ),
            tox_cut_off=per_clinic(
                lambda c: now - dt.timedelta(days=c.policy.tox_interval_days), DateTimeField()
            ),
            sample_cut_off=per_clinic(
                lambda c: c.clinic_day_of(now) - dt.timedelta(days=c.policy.tox_interval_days),
                DateField(),
            ),
        )
        .values("clinic")
        .annotate(
            reviews_overdue=Count("pk", filter=Q(review_from__lt=F("review_cut_off"))),
            tox_overdue=Count(
                "pk",
                filter=Q(last_sample__lt=F("sample_cut_off"))
                | Q(last_sample__isnull=True, tox_from__lt=F("tox_cut_off")),
            ),
        )
        .order_by()
    )
