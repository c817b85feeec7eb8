"""Workload and safety: places, the waiting list, overdue reviews and tox screens, open
alerts; re-titrations, withholds, adverse events and naloxone in the range."""

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django.db import models
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    F,
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
    Amendment,
    DoseSession,
    Observation,
    SessionStatus,
    WithholdReason,
)
from dosing.selectors import with_review_from
from eligibility.models import IN_TREATMENT, Referral, ServiceUser, Status, StatusChange
from eligibility.pathway import WAITING, free_places
from eligibility.selectors import attach_policies_in_force

from ..models import ToxScreen
from ..scans import MONITORED
from .away import away_by_month
from .common import Filters
from .rows import ChoiceCounts, ClinicPlaces, Places, Workload


def _by_clinic(rows, key="clinic") -> dict[int, dict]:
    return {row.pop(key): row for row in rows}


def workload(filters: Filters, *, now: dt.datetime | None = None) -> Workload:
    """For each clinic and in total. Now: places taken against capacity, offers
    outstanding and the waiting list; service users overdue a prescriber review or a
    tox screen; open alerts by kind. In the date range: re-titrations by cause,
    withholds by reason, adverse events and naloxone (as amended, if corrected), and
    take-home and guest dosing by month. Fifteen queries."""
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

    rows: list[ClinicPlaces] = []
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
                **{name: safety.get(clinic.pk, {}).get(name) or 0 for name in SAFETY_COLUMNS},  # type: ignore[typeddict-item]
            }
        )
    total: dict[str, Any] = {
        name: sum(row[name] for row in rows)  # type: ignore[literal-required]
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
        "total": cast(Places, total),  # the same fields as each clinic's, added up
        "alerts": _crosstab(alerts, ids, "kind", AlertKind),
        "withholds": _crosstab(withholds, ids, "outcome_reason", WithholdReason),
        "retitrations": _crosstab(
            retitrations, ids, "cause", RetitrationCause, clinic_key="service_user__clinic"
        ),
        "away": away_by_month(filters, clinics),
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


def _crosstab(rows, ids, key, choices, *, clinic_key="clinic") -> list[ChoiceCounts]:
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
