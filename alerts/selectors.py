"""Reading alerts, scoped to the member of staff's clinics and the kinds they may see."""

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from eligibility.selectors import for_staff

from .models import RESTRICTED_KINDS, Alert, AlertKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from eligibility.models import Clinic


def _hidden_kinds(user: "User | AnonymousUser") -> list[str]:
    return [kind for kind, permission in RESTRICTED_KINDS.items() if not user.has_perm(permission)]


def visible_to(alerts: QuerySet[Alert], user: "User | AnonymousUser") -> QuerySet[Alert]:
    """Without the kinds this member of staff may not see (RESTRICTED_KINDS)."""
    hidden = _hidden_kinds(user)
    return alerts.exclude(kind__in=hidden) if hidden else alerts


def kinds_visible_to(user: "User | AnonymousUser") -> list[tuple[str, str]]:
    """The alert kinds, as choices, that this member of staff may see."""
    hidden = _hidden_kinds(user)
    return [(value, label) for value, label in AlertKind.choices if value not in hidden]


def alerts_for_staff(user: "User | AnonymousUser") -> QuerySet[Alert]:
    """Alerts of the clinics the member of staff works in, with what the inbox shows."""
    return visible_to(for_staff(Alert.objects, user), user).select_related(
        "clinic", "service_user", "session", "acknowledged_by"
    )


def open_alert_count(*, clinic: "Clinic", user: "User | AnonymousUser") -> int:
    """For the navigation badge: one COUNT on the open-alert index."""
    return visible_to(
        Alert.objects.filter(clinic=clinic, acknowledged_at__isnull=True), user
    ).count()
