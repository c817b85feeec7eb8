"""Reading monitoring records, scoped to the member of staff's clinics."""

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, QuerySet

from alerts.models import Alert
from alerts.selectors import visible_to
from dosing.models import BreathTest
from eligibility.selectors import for_staff

from .models import MethadoneCollection, ToxResult, ToxScreen, ToxScreenResult

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from dosing.models import MethadonePrescription
    from eligibility.models import ServiceUser


def tox_screens_for_staff(user: "User | AnonymousUser") -> QuerySet[ToxScreen]:
    return for_staff(ToxScreen.objects, user).prefetch_related(
        Prefetch("results", queryset=ToxScreenResult.objects.order_by("pk"))
    )


def breath_tests_for_staff(user: "User | AnonymousUser") -> QuerySet[BreathTest]:
    return for_staff(BreathTest.objects, user)


def methadone_collections_for_staff(user: "User | AnonymousUser") -> QuerySet[MethadoneCollection]:
    return for_staff(MethadoneCollection.objects, user)


def _day_end(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The next day's midnight in the clinic's zone: a clinic day is 23 or 25 hours
    long on the days the clocks change."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)


def methadone_covering(
    versions: Iterable["MethadonePrescription"], *, day: dt.date, zone: dt.tzinfo
) -> "MethadonePrescription | None":
    """The methadone version that covers a clinic day's collection, from versions
    newest first: the one in force at the day's midday, or one that started later
    that day (its first day's collection is due, whatever time it starts). None when
    nothing was prescribed for the day."""
    version = next((v for v in versions if v.valid_from < _day_end(day, zone)), None)
    if version is None:
        return None
    midday = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
    if version.valid_to is not None and version.valid_to <= max(midday, version.valid_from):
        return None  # stopped before the day's midday
    return version


def methadone_for_day(
    *, service_user: "ServiceUser", day: dt.date
) -> "MethadonePrescription | None":
    """The methadone version covering a clinic day's collection (methadone_covering),
    with its pharmacy, in one query."""
    zone = service_user.clinic.zone
    versions = (
        service_user.methadone_prescriptions.filter(valid_from__lt=_day_end(day, zone))
        .select_related("pharmacy")
        .order_by("-valid_from", "-version")[:1]
    )
    return methadone_covering(versions, day=day, zone=zone)


def monitoring_summary(
    *, service_user: "ServiceUser", now: dt.datetime, viewer: "User | AnonymousUser", days: int = 28
) -> dict[str, Any]:
    """The service user's page: the latest tox results, recent breath readings, the
    methadone collection calendar for the last `days` days, and open alerts.
    A fixed number of queries."""
    from dosing.models import MethadonePrescription

    clinic = service_user.clinic
    today = clinic.clinic_day_of(now)
    first_day = today - dt.timedelta(days=days - 1)
    latest_tox = (
        ToxScreen.objects.filter(service_user=service_user)
        .select_related("recorded_by")
        .prefetch_related(Prefetch("results", queryset=ToxScreenResult.objects.order_by("pk")))
        .first()
    )
    breath_tests = list(
        BreathTest.objects.filter(service_user=service_user)
        .select_related("session", "recorded_by")
        .order_by("-taken_at")[:10]
    )
    collections = {
        record.day: record
        for record in MethadoneCollection.objects.filter(
            service_user=service_user, day__gte=first_day, day__lte=today
        )
    }
    # Every version started by today, ended ones too: a version that ended before the
    # window still hides the older ones it superseded.
    versions = list(
        MethadonePrescription.objects.filter(
            service_user=service_user, valid_from__lt=_day_end(today, clinic.zone)
        ).order_by("-valid_from", "-version")
    )
    calendar = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        record = collections.get(day)
        if record is not None:
            state = "collected" if record.collected else "not_collected"
        elif methadone_covering(versions, day=day, zone=clinic.zone) is not None:
            state = "unreported"
        else:
            state = "none"
        calendar.append({"day": day, "state": state, "record": record})
    return {
        "latest_tox": latest_tox,
        "tox_positive": [r for r in latest_tox.results.all() if r.result == ToxResult.POSITIVE]
        if latest_tox
        else [],
        "breath_tests": breath_tests,
        "calendar": calendar,
        # Blank cells before the first day, so the grid's columns are Monday to Sunday.
        "calendar_lead": range(first_day.weekday()),
        "open_alerts": list(
            visible_to(
                Alert.objects.filter(service_user=service_user, acknowledged_at__isnull=True),
                viewer,
            )
            .select_related("session")
            .order_by("-severity", "created_at")
        ),
    }


def review_evidence(
    *, service_user: "ServiceUser", since: dt.datetime, now: dt.datetime
) -> dict[str, Any]:
    """For the prescriber's weekly review (dosing.review_evidence): the last tox screen
    with its tested results, and the methadone collections since ``since``."""
    return {
        "last_tox": ToxScreen.objects.filter(service_user=service_user)
        .prefetch_related(
            Prefetch(
                "results",
                queryset=ToxScreenResult.objects.exclude(result="not_tested").order_by("pk"),
            )
        )
        .first(),
        "methadone_collections": list(
            MethadoneCollection.objects.filter(
                service_user=service_user,
                day__gte=service_user.clinic.clinic_day_of(since),
            ).order_by("day")
        ),
    }


def latest_tox_screens(
    *, service_user: "ServiceUser", count: int, at: dt.datetime
) -> list[tuple[dt.date, bool]]:
    """The latest `count` tox screens sampled by `at`'s clinic day, newest first, each
    as its sample date and whether a street-heroin marker was found: the take-home
    criterion's evidence (dosing.take_home_criteria). Served by tox_by_person_idx."""
    day = service_user.clinic.clinic_day_of(at)
    return list(
        ToxScreen.objects.filter(service_user=service_user, sample_date__lte=day)
        .order_by("-sample_date", "-pk")
        .values_list("sample_date", "street_heroin")[:count]
    )
