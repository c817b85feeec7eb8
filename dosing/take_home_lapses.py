"""Take-home suspended by itself (docs/domain.md, "Take-home doses"): a lapse of a
take-home prescription version, on a street-heroin-positive tox screen, a missed
collection visit, a re-titration, or a supply reported lost or stolen; each with an
alert to the prescriber. Only a new version, written after the cause and under the
criteria, lets take-home start again.

A re-titration, a missed visit and a loss are read from dosing's own records, so a
supply is refused whenever the lapse scan last ran. A tox screen is monitoring's:
monitoring records the lapse when it records the screen."""

import datetime as dt
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import (
    BigIntegerField,
    DateField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast
from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import alert_raise, alerts_raise_from, sql_text
from core.errors import RuleViolation, require_reason
from eligibility.models import Clinic, ServiceUser, Status, StatusChange

from .models import (
    DoseSession,
    LapseCause,
    SessionStatus,
    TakeHomeLapse,
    TakeHomeLoss,
    TakeHomePrescription,
    TakeHomeSupply,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class Lapse(NamedTuple):
    cause: str
    occurred_at: dt.datetime
    detail: str


# A session in which the service user was seen: assessed, dosed, withheld or declined.
SEEN = (
    SessionStatus.ASSESSED,
    SessionStatus.DEFERRED,
    SessionStatus.ADMINISTERED,
    SessionStatus.OBSERVED,
    SessionStatus.WITHHELD,
    SessionStatus.DECLINED,
)


def _attended(day_field: str) -> Q:
    """As a subquery of a supply: the service user was seen on that day, in the room
    or for another supply."""
    return Exists(
        DoseSession.objects.filter(
            service_user=OuterRef("service_user"), clinic_day=OuterRef(day_field), status__in=SEEN
        )
    ) | Exists(
        TakeHomeSupply.objects.filter(
            service_user=OuterRef("service_user"), supplied_at__date=OuterRef(day_field)
        )
    )


def with_lapse_causes(
    versions: QuerySet[TakeHomePrescription], today: dt.date
) -> QuerySet[TakeHomePrescription]:
    """Each version annotated with the first of each cause dosing can see after it was
    issued: re-titration (a change to re-titration required), a loss reported, and a
    collection visit missed (a supply's next visit passed, the service user not seen
    that day). Set-wise: three subqueries, whatever the number of versions."""
    person, issued = OuterRef("service_user"), OuterRef("issued_at")
    retitration = StatusChange.objects.filter(
        service_user=person, to_status=Status.RETITRATION_REQUIRED, changed_at__gt=issued
    ).order_by("changed_at")
    loss = TakeHomeLoss.objects.filter(service_user=person, reported_at__gt=issued).order_by(
        "reported_at"
    )
    missed_visit = (
        TakeHomeSupply.objects.filter(
            service_user=person, supplied_at__gte=issued, next_visit__lt=today
        )
        .exclude(_attended("next_visit"))
        .order_by("next_visit")
    )
    return versions.annotate(
        retitration_at=Subquery(retitration.values("changed_at")[:1], output_field=DateTimeField()),
        loss_at=Subquery(loss.values("reported_at")[:1], output_field=DateTimeField()),
        missed_visit_on=Subquery(missed_visit.values("next_visit")[:1], output_field=DateField()),
    )


def suspended(lapse: Lapse) -> str:
    """What staff are told when take-home is suspended: why, and what restarts it."""
    return (
        f"Take-home is suspended: {lapse.detail} A prescriber writes a new take-home "
        "prescription to start it again."
    )


def _lapses_seen(version: TakeHomePrescription) -> list[Lapse]:
    """The causes with_lapse_causes found for a version, as lapses."""
    zone = version.service_user.clinic.zone
    found = []
    if retitration := getattr(version, "retitration_at", None):
        found.append(Lapse(LapseCause.RETITRATION, retitration, "Re-titration required."))
    if loss := getattr(version, "loss_at", None):
        found.append(
            Lapse(LapseCause.LOST_OR_STOLEN, loss, "A supply was reported lost or stolen.")
        )
    if day := getattr(version, "missed_visit_on", None):
        found.append(
            Lapse(
                LapseCause.MISSED_COLLECTION,
                dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone),
                f"Not seen on {day:%-d %b %Y}, the day the next supply was due.",
            )
        )
    return found


def take_home_lapse(*, version: TakeHomePrescription, now: dt.datetime) -> Lapse | None:
    """Why this version is suspended, if it is: the earliest cause recorded or seen."""
    recorded = [
        Lapse(lapse.cause, lapse.occurred_at, lapse.detail) for lapse in version.lapses.all()
    ]
    today = version.service_user.clinic.clinic_day_of(now)
    annotated = with_lapse_causes(
        TakeHomePrescription.objects.filter(pk=version.pk).select_related("service_user__clinic"),
        today,
    ).get()
    lapses = sorted(recorded + _lapses_seen(annotated), key=lambda lapse: lapse.occurred_at)
    return lapses[0] if lapses else None


def _governing_versions(service_user: ServiceUser, day: dt.date) -> QuerySet[TakeHomePrescription]:
    """The versions a lapse on `day` suspends: the one in force and any to come."""
    return TakeHomePrescription.objects.filter(service_user=service_user, valid_to__gte=day)


def take_home_lapse_record(
    *,
    service_user: ServiceUser,
    cause: str,
    occurred_at: dt.datetime,
    detail: str,
    now: dt.datetime,
) -> int:
    """Suspend take-home now: a lapse for each version in force or to come that was
    issued before the cause, and an alert to the prescriber. Idempotent: a cause is
    recorded once per version. Returns how many were new."""
    day = service_user.clinic.clinic_day_of(occurred_at)
    versions = _governing_versions(service_user, day).filter(issued_at__lt=occurred_at)
    new = []
    for version in versions:
        try:
            with transaction.atomic():
                new.append(
                    TakeHomeLapse.objects.create(
                        service_user=service_user,
                        prescription=version,
                        cause=cause,
                        occurred_at=occurred_at,
                        detail=detail,
                        recorded_at=now,
                    )
                )
        except IntegrityError:
            continue  # recorded already, by an earlier call or a scan
    if new:
        alert_raise(
            kind=AlertKind.TAKE_HOME_SUSPENDED,
            clinic=service_user.clinic,
            service_user=service_user,
            cause_key=f"take_home_lapse:{new[0].pk}",
            detail=detail,
            now=now,
        )
    return len(new)


def take_home_lapses_scan(*, now: dt.datetime | None = None) -> int:
    """Record the lapses dosing can see (re-titration, a loss, a missed collection
    visit) of every version in force or to come, and alert the prescriber: once per
    version and cause however often or late it runs. Set-wise: one read of the
    versions with their causes per time zone the clinics use, one insert of the
    lapses, one of the alerts."""
    now = now or timezone.now()
    earliest = (now - dt.timedelta(days=2)).date()  # every zone's today, or later
    lapses = []
    # A collection visit is missed once the clinic's own day is over: each time zone's
    # clinics are read with their today (one read per zone the installation uses).
    for zone in Clinic.objects.values_list("time_zone", flat=True).distinct().order_by():
        candidates = with_lapse_causes(
            TakeHomePrescription.objects.filter(
                valid_to__gte=earliest, service_user__clinic__time_zone=zone
            ).select_related("service_user__clinic"),
            now.astimezone(ZoneInfo(zone)).date(),
        ).filter(
            Q(retitration_at__isnull=False)
            | Q(loss_at__isnull=False)
            | Q(missed_visit_on__isnull=False)
        )
        lapses += [
            TakeHomeLapse(
                service_user=version.service_user,
                prescription=version,
                cause=lapse.cause,
                occurred_at=lapse.occurred_at,
                detail=lapse.detail,
                recorded_at=now,
            )
            for version in candidates
            for lapse in _lapses_seen(version)
        ]
    TakeHomeLapse.objects.bulk_create(lapses, ignore_conflicts=True)
    fresh = TakeHomeLapse.objects.filter(recorded_at=now)
    return alerts_raise_from(
        fresh.values(
            alert_clinic=F("service_user__clinic_id"),
            alert_service_user=F("service_user_id"),
            # Typed: PostgreSQL takes a bare NULL in a subquery for text.
            alert_session=Cast(Value(None), output_field=BigIntegerField()),
            alert_cause=sql_text("take_home_lapse:", F("pk")),
            alert_detail=F("detail"),
        ),
        kind=AlertKind.TAKE_HOME_SUSPENDED,
        now=now,
    )


def take_home_loss_report(
    *,
    supply: TakeHomeSupply,
    kind: str,
    doses: int,
    happened_on: dt.date,
    description: str,
    reported_by: "User",
    now: dt.datetime | None = None,
) -> TakeHomeLoss:
    """A supply reported lost or stolen, recorded as the incident, which suspends
    take-home at once."""
    now = now or timezone.now()
    description = require_reason(
        description, "Say what happened, and whether the police were told.", field="description"
    )
    if kind not in TakeHomeLoss.Kind.values:
        raise RuleViolation("Say whether it was lost or stolen.", code="loss_kind", field="kind")
    supplied = supply.doses.count()
    if not 1 <= doses <= supplied:
        raise RuleViolation(
            f"The supply held {supplied} doses: give how many of them, from 1 to {supplied}.",
            code="loss_doses",
            field="doses",
        )
    today = supply.clinic.clinic_day_of(now)
    if happened_on > today or happened_on < supply.supplied_at.date() - dt.timedelta(days=1):
        raise RuleViolation(
            f"Give the day it happened, from the supply ({supply.supplied_at:%-d %b %Y}) to today.",
            code="loss_date",
            field="happened_on",
        )
    with transaction.atomic():
        loss = TakeHomeLoss.objects.create(
            service_user=supply.service_user,
            supply=supply,
            kind=kind,
            doses=doses,
            happened_on=happened_on,
            description=description,
            reported_by=reported_by,
            reported_at=now,
        )
        take_home_lapse_record(
            service_user=supply.service_user,
            cause=LapseCause.LOST_OR_STOLEN,
            occurred_at=now,
            detail=f"{doses} take-home dose{'s' if doses != 1 else ''} reported "
            f"{loss.get_kind_display().lower()}.",
            now=now,
        )
    return loss
