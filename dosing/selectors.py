"""Reads about prescriptions."""

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from eligibility.models import ServiceUser

from .models import Prescription, PrescriptionSlotDose


def _with_doses(queryset: QuerySet[Prescription]) -> QuerySet[Prescription]:
    return queryset.select_related("prescriber").prefetch_related(
        Prefetch("slot_doses", queryset=PrescriptionSlotDose.objects.order_by("slot_code"))
    )


def latest_prescription(*, service_user: ServiceUser, at: dt.datetime) -> Prescription | None:
    """The latest version that had started by ``at``, whether or not it has since ended."""
    return (
        _with_doses(Prescription.objects.filter(service_user=service_user, valid_from__lte=at))
        .order_by("-valid_from", "-version")
        .first()
    )


def prescription_in_force(
    *, service_user: ServiceUser, at: dt.datetime | None = None
) -> Prescription | None:
    """The version in force at ``at``: the latest started, unless it has ended. None if none."""
    at = at or timezone.now()
    latest = latest_prescription(service_user=service_user, at=at)
    if latest is None or (latest.valid_to is not None and latest.valid_to <= at):
        return None
    return latest


def prescriptions_for_staff(user) -> QuerySet[Prescription]:
    """Every version the member of staff may see: their clinics' service users only."""
    if not user.is_authenticated:
        return Prescription.objects.none()
    return _with_doses(
        Prescription.objects.filter(service_user__clinic__memberships__user=user)
    ).order_by("service_user", "-valid_from", "-version")


def prescription_versions(*, service_user: ServiceUser) -> QuerySet[Prescription]:
    return _with_doses(service_user.prescriptions.all()).order_by("-valid_from", "-version")
