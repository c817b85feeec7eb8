"""Reads about clinics and service users that need a little thought."""

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Manager, Model, OuterRef, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.errors import RuleViolation

from .models import (
    Clinic,
    ClinicPolicy,
    DoseSlot,
    ServiceUser,
    StaffMembership,
    Status,
    StatusChange,
)
from .permissions import clinics_holding

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

_Row = TypeVar("_Row", bound=Model)


def for_staff(
    queryset: QuerySet[_Row] | Manager[_Row],
    user: "User | AnonymousUser",
    *,
    clinic: str = "clinic",
) -> QuerySet[_Row]:
    """The rows of the member of staff's clinics only, none for anyone else; `clinic`
    is the path from a row to its clinic."""
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{clinic}__in": StaffMembership.objects.clinic_ids_in_scope(user)})


def clinics_for_staff(user: "User | AnonymousUser") -> QuerySet[Clinic]:
    """The clinics a member of staff works in (every one, whichever the request acts
    in: the navigation offers them all). Anyone else sees none."""
    if not user.is_authenticated:
        return Clinic.objects.none()
    return Clinic.objects.filter(
        pk__in=StaffMembership.objects.active().filter(user=user).values("clinic_id")
    )


def clinics_in_scope(user: "User | AnonymousUser") -> QuerySet[Clinic]:
    """The clinics whose records this request may reach: the one a page acts in, or
    those where an API caller holds the action's permission
    (eligibility.permissions)."""
    return Clinic.objects.filter(pk__in=StaffMembership.objects.clinic_ids_in_scope(user))


def dashboard_clinics(user: "User | AnonymousUser") -> QuerySet[Clinic]:
    """The clinics whose dashboards this member of staff may see: where they hold the
    dashboards' permission, whichever clinic the page acts in."""
    if not user.is_authenticated:
        return Clinic.objects.none()
    return Clinic.objects.filter(pk__in=clinics_holding(user, "monitoring.view_dashboards"))


def service_users_for_staff(user: "User | AnonymousUser") -> QuerySet[ServiceUser]:
    if not user.is_authenticated:
        return ServiceUser.objects.none()
    return ServiceUser.objects.for_staff(user).select_related("clinic")


def clinic_staff(clinic: Clinic) -> QuerySet[Any]:
    """The people on a clinic's staff: active accounts, not integration tokens'."""
    return get_user_model().objects.filter(
        pk__in=StaffMembership.objects.active().filter(clinic=clinic).values("user_id"),
        is_active=True,
        integration_token__isnull=True,
    )


def current_clinic(request: Any) -> Clinic:
    """The clinic this member of staff is working in now (CurrentClinicMiddleware);
    someone on no clinic's staff may not use a clinic's pages."""
    if request.clinic is None:
        raise PermissionDenied("You are not on a clinic's staff.")
    return request.clinic  # type: ignore[no-any-return]


def clinic_named(user: "User | AnonymousUser", clinic_id: int | None) -> Clinic:
    """The clinic an API write names, of the caller's: another clinic is a 404, and
    naming none is refused only when the caller works in more than one. "The
    caller's" are the clinics where they hold the action's permission."""
    clinics = clinics_in_scope(user)
    if clinic_id is not None:
        return get_object_or_404(clinics, pk=clinic_id)
    if clinics.count() == 1:
        return clinics.get()
    raise RuleViolation(
        "You work in several clinics: say which one (clinic).",
        code="clinic_required",
        field="clinic",
    )


def service_user_in_scope(user: "User | AnonymousUser", **lookup: Any) -> ServiceUser:
    """A service user named in a request: another clinic's is a 404, as if absent."""
    return get_object_or_404(service_users_for_staff(user), **lookup)


def admitted_at() -> Subquery:
    """As a subquery of ServiceUser: when the person was last admitted (titration)."""
    return Subquery(
        StatusChange.objects.filter(service_user=OuterRef("pk"), to_status=Status.TITRATION)
        .order_by("-changed_at")
        .values("changed_at")[:1]
    )


def policy_in_force_subquery(field: str, *, at: dt.datetime) -> Subquery:
    """As a subquery of a row with a ``clinic``: a value of its clinic's policy version
    in force at `at`."""
    return Subquery(
        ClinicPolicy.objects.filter(clinic=OuterRef("clinic"), effective_from__lte=at)
        .order_by("-effective_from")
        .values(field)[:1]
    )


def policy_in_force(*, clinic: Clinic, at: dt.datetime | None = None) -> ClinicPolicy:
    """The clinic policy version in force at an instant, with its slots loaded."""
    at = at or timezone.now()
    policy = (
        ClinicPolicy.objects.filter(clinic=clinic, effective_from__lte=at)
        .prefetch_related(Prefetch("slots", queryset=DoseSlot.objects.order_by("opens_at")))
        .order_by("-effective_from")
        .first()
    )
    if policy is None:
        raise RuleViolation(
            f"{clinic} has no policy in force at {timezone.localtime(at):%d %b %Y %H:%M}. "
            "A manager must set one before the clinic can run.",
            code="no_policy_in_force",
        )
    return policy


def policy_versions(*, clinic: Clinic) -> QuerySet[ClinicPolicy]:
    return (
        ClinicPolicy.objects.filter(clinic=clinic)
        .select_related("created_by")
        .prefetch_related(Prefetch("slots", queryset=DoseSlot.objects.order_by("opens_at")))
        .order_by("-effective_from")
    )


def attach_policies_in_force(
    clinics: Iterable[Clinic], *, at: dt.datetime | None = None
) -> list[Clinic]:
    """Set ``clinic.policy`` to the version in force at ``at``, for many clinics in
    two queries (versions, then their slots) rather than one per clinic."""
    at = at or timezone.now()
    clinics = list(clinics)
    policies = ClinicPolicy.objects.filter(
        clinic__in=clinics, pk=policy_in_force_subquery("pk", at=at)
    ).prefetch_related(Prefetch("slots", queryset=DoseSlot.objects.order_by("opens_at")))
    by_clinic = {policy.clinic_id: policy for policy in policies}
    for clinic in clinics:
        clinic.policy = by_clinic.get(clinic.pk)
    return clinics


def status_counts(*, clinic: Clinic) -> dict[str, int]:
    """How many of the clinic's service users are at each status: one grouped query."""
    rows = (
        ServiceUser.objects.filter(clinic=clinic)
        .values("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["status"]: row["n"] for row in rows}
