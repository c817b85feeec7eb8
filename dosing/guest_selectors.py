"""Reads about guest stays (dosing.guest): which stays are in effect on a day, a
person's days away, and who a clinic doses."""

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from eligibility.models import ServiceUser, StaffMembership

from .models import GuestStay


def stays_in_effect(day: dt.date | Any) -> QuerySet[GuestStay]:
    """Stays accepted and not ended that cover the day (a date, or an expression of
    one). A person has at most one, since their stays never overlap."""
    return GuestStay.objects.filter(
        acceptance__isnull=False, first_day__lte=day, last_day__gte=day
    ).filter(Q(end__isnull=True) | Q(end__home_from__gt=day))


def guest_days(service_user: ServiceUser, first: dt.date, last: dt.date) -> set[dt.date]:
    """The days from first to last on which the person is a guest elsewhere: the home
    clinic neither doses them nor supplies them to take home."""
    days = set()
    stays = (
        GuestStay.objects.filter(
            service_user=service_user, acceptance__isnull=False, first_day__lte=last
        )
        .filter(last_day__gte=first)
        .select_related("end")
    )
    for stay in stays:
        ends = getattr(stay, "end", None)
        day = max(stay.first_day, first)
        while day <= min(stay.last_day, last):
            if ends is None or day < ends.home_from:
                days.add(day)
            day += dt.timedelta(days=1)
    return days


def people_dosed_by(user: Any) -> QuerySet[ServiceUser]:
    """The service users of the member of staff's clinics, and the guests those clinics
    have accepted to dose."""
    clinics = StaffMembership.objects.clinic_ids_in_scope(user)
    hosted = GuestStay.objects.filter(
        service_user=OuterRef("pk"), host_clinic__in=clinics, acceptance__isnull=False
    )
    return ServiceUser.objects.filter(Q(clinic__in=clinics) | Exists(hosted))


def stays_for_staff(user: Any) -> QuerySet[GuestStay]:
    """The stays of the member of staff's clinics, as home or as host."""
    if not user.is_authenticated:
        return GuestStay.objects.none()
    clinics = StaffMembership.objects.clinic_ids_in_scope(user)
    return (
        GuestStay.objects.filter(Q(home_clinic__in=clinics) | Q(host_clinic__in=clinics))
        .select_related(
            "service_user",
            "home_clinic",
            "host_clinic",
            "authorised_by",
            "acceptance__accepted_by",
            "end__ended_by",
        )
        .order_by("-first_day", "-pk")
    )
