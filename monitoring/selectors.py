"""Reading alerts and monitoring records, scoped to the member of staff's clinics."""

from django.db.models import Prefetch, QuerySet

from .models import Alert, BreathTest, MethadoneCollection, ToxScreen, ToxScreenResult


def alerts_for_staff(user) -> QuerySet[Alert]:
    """Alerts of the clinics the member of staff works in, with what the inbox shows."""
    if not user.is_authenticated:
        return Alert.objects.none()
    return Alert.objects.filter(clinic__memberships__user=user).select_related(
        "clinic", "service_user", "session", "acknowledged_by"
    )


def open_alert_count(*, clinic) -> int:
    """For the navigation badge: one COUNT on the open-alert index."""
    return Alert.objects.filter(clinic=clinic, acknowledged_at__isnull=True).count()


def tox_screens_for_staff(user) -> QuerySet[ToxScreen]:
    if not user.is_authenticated:
        return ToxScreen.objects.none()
    return ToxScreen.objects.filter(clinic__memberships__user=user).prefetch_related(
        Prefetch("results", queryset=ToxScreenResult.objects.order_by("pk"))
    )


def breath_tests_for_staff(user) -> QuerySet[BreathTest]:
    if not user.is_authenticated:
        return BreathTest.objects.none()
    return BreathTest.objects.filter(clinic__memberships__user=user)


def methadone_collections_for_staff(user) -> QuerySet[MethadoneCollection]:
    if not user.is_authenticated:
        return MethadoneCollection.objects.none()
    return MethadoneCollection.objects.filter(clinic__memberships__user=user)
