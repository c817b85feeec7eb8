"""The overdue scans (docs/domain.md, "Monitoring"): prescriber reviews, tox screens,
breath tests for alcohol-flagged service users, and methadone not collected.

Each finds what is due from the stored records, whenever it last ran, and raises
its alert once per cause (the cause names the last record, so a new review, sample
or collection starts a new cause). Set-wise: a fixed number of queries per clinic.
"""

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import (
    BigIntegerField,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from alerts.models import Alert, AlertKind
from alerts.services import alert_close, alert_raise, alerts_raise_from, sql_text
from dosing.models import BreathTest
from eligibility.models import (
    IN_TREATMENT,
    Clinic,
    Referral,
    ServiceUser,
    Status,
)
from eligibility.selectors import admitted_at, attach_policies_in_force, policy_in_force_subquery

from .models import MethadoneCollection, ToxScreen

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Reviews and samples are not expected while someone is in hospital or custody.
MONITORED = [status for status in IN_TREATMENT if status != Status.SUSPENDED]
NEVER = dt.date(1970, 1, 1)
# A typed NULL: PostgreSQL will not put an untyped parameter into a bigint column.
NO_SESSION = Cast(Value(None), output_field=BigIntegerField())


def _clinics_with_policies(now: dt.datetime) -> list[Clinic]:
    """Every clinic with the policy in force now, in two queries; those without one
    (not yet open) are left out."""
    return [c for c in attach_policies_in_force(Clinic.objects.all(), at=now) if c.policy]


def _person_alerts(
    people: QuerySet[ServiceUser], *, kind: AlertKind, cause: Any, detail: str, now: dt.datetime
) -> int:
    return alerts_raise_from(
        people.values(
            alert_clinic=F("clinic_id"),
            alert_service_user=F("pk"),
            alert_session=NO_SESSION,
            alert_cause=cause,
            alert_detail=Value(detail),
        ),
        kind=kind,
        now=now,
    )


def reviews_overdue_scan(*, now: dt.datetime | None = None) -> int:
    """A prescriber review is due every review_interval_days, from admission for
    someone never reviewed (dosing.selectors.review_queue shows the same dates)."""
    from dosing.selectors import with_review_due

    now = now or timezone.now()
    raised = 0
    for clinic in _clinics_with_policies(now):
        days = clinic.policy.review_interval_days  # type: ignore[union-attr]
        overdue = with_review_due(
            ServiceUser.objects.filter(clinic=clinic, status__in=MONITORED),
            dt.timedelta(days=days),
        ).filter(due_at__lt=now)
        raised += _person_alerts(
            overdue,
            kind=AlertKind.REVIEW_OVERDUE,
            cause=sql_text("review:", F("pk"), ":after:", Coalesce("last_review_id", 0)),
            detail=f"No prescriber review in the last {days} days.",
            now=now,
        )
    return raised


def tox_overdue_scan(*, now: dt.datetime | None = None) -> int:
    """A urine sample at least every tox_interval_days; overdue after that."""
    now = now or timezone.now()
    raised = 0
    for clinic in _clinics_with_policies(now):
        days = clinic.policy.tox_interval_days  # type: ignore[union-attr]
        today = clinic.clinic_day_of(now)
        last = ToxScreen.objects.filter(service_user=OuterRef("pk")).order_by("-sample_date", "-pk")
        overdue = (
            ServiceUser.objects.filter(clinic=clinic, status__in=MONITORED)
            .annotate(
                last_screen=Subquery(last.values("pk")[:1]),
                last_sample=Subquery(last.values("sample_date")[:1], output_field=DateField()),
                admitted_at=Coalesce(admitted_at(), "status_changed_at"),
            )
            .filter(
                Q(last_sample__lt=today - dt.timedelta(days=days))
                | Q(last_sample__isnull=True, admitted_at__lt=now - dt.timedelta(days=days))
            )
        )
        raised += _person_alerts(
            overdue,
            kind=AlertKind.TOX_OVERDUE,
            cause=sql_text("tox:", F("pk"), ":after:", Coalesce("last_screen", 0)),
            detail=f"No urine tox screen in the last {days} days.",
            now=now,
        )
    return raised


def breath_missing_scan(*, now: dt.datetime | None = None, days_back: int = 7) -> int:
    """An alcohol-flagged service user who attended on a clinic day (any session ended
    other than missed or excused) and had no breath test that day. The alert names
    the day's last session; it looks back days_back days, to catch up."""
    from dosing.models import DoseSession, SessionStatus

    now = now or timezone.now()
    since = (now - dt.timedelta(days=days_back)).date()
    attended = [
        SessionStatus.ADMINISTERED,
        SessionStatus.OBSERVED,
        SessionStatus.WITHHELD,
        SessionStatus.DECLINED,
    ]
    same_day = DoseSession.objects.filter(
        service_user=OuterRef("service_user"), clinic_day=OuterRef("clinic_day")
    )
    last_of_day = (
        DoseSession.objects.filter(
            service_user__flag_alcohol=True,
            service_user__status__in=MONITORED,
            clinic_day__gte=since,
            closes_at__lte=now,
        )
        .filter(~Exists(same_day.filter(closes_at__gt=OuterRef("closes_at"))))
        .filter(Exists(same_day.filter(status__in=attended)))
        .filter(
            ~Exists(
                BreathTest.objects.filter(
                    service_user=OuterRef("service_user"), clinic_day=OuterRef("clinic_day")
                )
            )
        )
    )
    return alerts_raise_from(
        last_of_day.values(
            alert_clinic=F("clinic_id"),
            alert_service_user=F("service_user_id"),
            alert_session=F("pk"),
            alert_cause=sql_text("breath:", F("service_user_id"), ":", F("clinic_day")),
            alert_detail=sql_text(
                "Alcohol-flagged, attended on ", F("clinic_day"), " with no breath test recorded."
            ),
        ),
        kind=AlertKind.BREATH_MISSING,
        now=now,
    )


def methadone_uncollected_check(service_users: QuerySet[ServiceUser], *, now: dt.datetime) -> int:
    """docs/domain.md: after methadone_uncollected_days uncollected days in a row (the days
    reported since the last collection), alert. One alert per run of days: its cause
    is the run's first uncollected day."""
    last_collected = (
        MethadoneCollection.objects.filter(service_user=OuterRef(OuterRef("pk")), collected=True)
        .order_by("-day")
        .values("day")[:1]
    )
    run = MethadoneCollection.objects.filter(
        service_user=OuterRef("pk"),
        collected=False,
        day__gt=Coalesce(Subquery(last_collected), Value(NEVER, output_field=DateField())),
    )
    threshold = policy_in_force_subquery("methadone_uncollected_days", at=now)
    people = (
        service_users.filter(status__in=MONITORED)
        .annotate(
            uncollected=Subquery(
                run.order_by().values("service_user").annotate(n=Count("pk")).values("n")
            ),
            run_start=Subquery(run.order_by("day").values("pk")[:1]),
            threshold=threshold,
        )
        .filter(uncollected__gte=F("threshold"))
    )
    return alerts_raise_from(
        people.values(
            alert_clinic=F("clinic_id"),
            alert_service_user=F("pk"),
            alert_session=NO_SESSION,
            alert_cause=sql_text("methadone:", F("run_start")),
            alert_detail=sql_text(
                F("uncollected"),
                " days in a row with methadone not collected: consider monitored methadone.",
            ),
        ),
        kind=AlertKind.METHADONE_UNCOLLECTED,
        now=now,
    )


def methadone_uncollected_scan(*, now: dt.datetime | None = None) -> int:
    """Everyone with a collection record: the catch-all behind the check run at each
    report."""
    now = now or timezone.now()
    return methadone_uncollected_check(
        ServiceUser.objects.filter(
            Exists(MethadoneCollection.objects.filter(service_user=OuterRef("pk")))
        ),
        now=now,
    )


# An offer's alert names its referral: the admission that answers it closes it.
PLACE_OFFER_CAUSE = "place-offer:"


def free_places_offer(
    *, clinic_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Offer each clinic's free places to the next on its waiting list, and alert the
    prescribers and managers to each offer. Returns the number of offers made."""
    from eligibility.pathway import waiting_offers_make

    now = now or timezone.now()
    clinics = (
        Clinic.objects.all() if clinic_ids is None else Clinic.objects.filter(pk__in=clinic_ids)
    )
    offers = 0
    for clinic in clinics:
        made = waiting_offers_make(clinic=clinic, now=now)
        if not made:
            continue
        offers += len(made)
        alerts_raise_from(
            Referral.objects.filter(pk__in=[r.pk for r in made]).values(
                alert_clinic=F("clinic_id"),
                alert_service_user=F("service_user_id"),
                alert_session=NO_SESSION,
                alert_cause=sql_text(PLACE_OFFER_CAUSE, F("pk")),
                alert_detail=Value(
                    "A place is free and is offered to this person, next on the waiting list: "
                    "arrange the admission and the treatment agreement."
                ),
            ),
            kind=AlertKind.PLACE_OFFERED,
            now=now,
        )
    return offers


def place_offer_close(
    *, referral: Referral, admitted_by: "User", now: dt.datetime | None = None
) -> Alert | None:
    """The person offered a place was admitted: the offer's alert is answered. Closed
    as acknowledged by whoever admitted them, inside the admission's transaction."""
    now = now or timezone.now()
    day = referral.clinic.clinic_day_of(now)
    return alert_close(
        kind=AlertKind.PLACE_OFFERED,
        cause_key=f"{PLACE_OFFER_CAUSE}{referral.pk}",
        by=admitted_by,
        note=f"Admitted on {day.day} {day:%b %Y}.",
        now=now,
    )


def duplicate_registrations_flag(*, service_user: ServiceUser, now: dt.datetime) -> int:
    """A person just referred whose NHS number is on the pathway at another clinic of
    the installation too: each clinic is told on its own record, urgently, so that
    nobody is prescribed diamorphine twice. Only prescribers and managers see these
    alerts (RESTRICTED_KINDS); whoever recorded the referral is told nothing.
    Returns how many alerts were raised."""
    others = (
        ServiceUser.objects.filter(nhs_number=service_user.nhs_number)
        .exclude(clinic=service_user.clinic_id)
        .exclude(status__in=[Status.EXITED, Status.DECLINED])
        .select_related("clinic")
    )
    raised = 0
    for other in others:
        for own, elsewhere in ((service_user, other), (other, service_user)):
            raised += (
                alert_raise(
                    kind=AlertKind.DUPLICATE_REGISTRATION,
                    clinic=own.clinic,
                    service_user=own,
                    cause_key=f"duplicate:{own.pk}:{elsewhere.pk}",
                    detail=(
                        f"The same NHS number is on the pathway at {elsewhere.clinic.name} "
                        f"({elsewhere.get_status_display().lower()}). Agree with that clinic "
                        "which one treats this person before anything more is prescribed."
                    ),
                    now=now,
                )
                is not None
            )
    return raised
