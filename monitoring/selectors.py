"""Reading alerts and monitoring records, scoped to the member of staff's clinics."""

import datetime as dt

from django.db.models import Prefetch, QuerySet

from eligibility.selectors import for_staff

from .models import (
    RESTRICTED_KINDS,
    Alert,
    AlertKind,
    BreathTest,
    MethadoneCollection,
    ToxResult,
    ToxScreen,
    ToxScreenResult,
)


def _hidden_kinds(user) -> list[str]:
    return [kind for kind, permission in RESTRICTED_KINDS.items() if not user.has_perm(permission)]


def visible_to(alerts: QuerySet[Alert], user) -> QuerySet[Alert]:
    """Without the kinds this member of staff may not see (RESTRICTED_KINDS)."""
    hidden = _hidden_kinds(user)
    return alerts.exclude(kind__in=hidden) if hidden else alerts


def kinds_visible_to(user) -> list[tuple[str, str]]:
    """The alert kinds, as choices, that this member of staff may see."""
    hidden = _hidden_kinds(user)
    return [(value, label) for value, label in AlertKind.choices if value not in hidden]


def alerts_for_staff(user) -> QuerySet[Alert]:
    """Alerts of the clinics the member of staff works in, with what the inbox shows."""
    return visible_to(for_staff(Alert.objects, user), user).select_related(
        "clinic", "service_user", "session", "acknowledged_by"
    )


def open_alert_count(*, clinic, user) -> int:
    """For the navigation badge: one COUNT on the open-alert index."""
    return visible_to(
        Alert.objects.filter(clinic=clinic, acknowledged_at__isnull=True), user
    ).count()


def tox_screens_for_staff(user) -> QuerySet[ToxScreen]:
    return for_staff(ToxScreen.objects, user).prefetch_related(
        Prefetch("results", queryset=ToxScreenResult.objects.order_by("pk"))
    )


def breath_tests_for_staff(user) -> QuerySet[BreathTest]:
    return for_staff(BreathTest.objects, user)


def methadone_collections_for_staff(user) -> QuerySet[MethadoneCollection]:
    return for_staff(MethadoneCollection.objects, user)


def _day_end(day: dt.date, zone) -> dt.datetime:
    """The next day's midnight in the clinic's zone: a clinic day is 23 or 25 hours
    long on the days the clocks change."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)


def methadone_covering(versions, *, day: dt.date, zone):
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


def methadone_for_day(*, service_user, day: dt.date):
    """The methadone version covering a clinic day's collection (methadone_covering),
    with its pharmacy, in one query."""
    zone = service_user.clinic.zone
    versions = (
        service_user.methadone_prescriptions.filter(valid_from__lt=_day_end(day, zone))
        .select_related("pharmacy")
        .order_by("-valid_from", "-version")[:1]
    )
    return methadone_covering(versions, day=day, zone=zone)


def monitoring_summary(*, service_user, now: dt.datetime, viewer, days: int = 28) -> dict:
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
