"""Recording and reading the access log (issue 16.8)."""

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import AccessLog, StaffMembership

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.http import HttpRequest

    from .models import ServiceUser

What = AccessLog.What


def access_record(
    request: "HttpRequest",
    what: str,
    *,
    service_user: "ServiceUser | None" = None,
    export: str = "",
) -> None:
    """Note that the member of staff behind this request opened a service user's
    record (or exported data), from the clinic they are working in. One INSERT."""
    clinic = getattr(request, "clinic", None) or getattr(service_user, "clinic", None)
    if clinic is None or not request.user.is_authenticated:
        return  # nobody, or nowhere: nothing was shown
    AccessLog.objects.create(
        user=request.user,
        clinic=clinic,
        service_user=service_user,
        what=what,
        export=export[:120],
        at=timezone.now(),
    )


def access_log_for_staff(user: "User | AnonymousUser") -> QuerySet[AccessLog]:
    """Accesses to the records of this member of staff's clinics, and exports made
    from them."""
    return AccessLog.objects.filter(
        Q(service_user__clinic__in=StaffMembership.objects.clinic_ids_in_scope(user))
        | Q(service_user__isnull=True, clinic__in=StaffMembership.objects.clinic_ids_in_scope(user))
    ).select_related("user", "clinic")
