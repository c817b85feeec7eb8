"""Reading alerts and monitoring records, scoped to the member of staff's clinics."""

from django.db.models import QuerySet

from .models import Alert


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
