"""Who holds which role where (issue 18.1): clinic roles per membership, the
installation administrator's on the account."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from core.audit import audited
from core.errors import RuleViolation
from core.roles import CLINIC_ROLES, Role

from .models import Clinic, StaffMembership

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def roles_held(user: "User | AnonymousUser", clinic: Clinic | None) -> list[Role]:
    """The roles this person holds in the clinic (and on their account), in the
    order of core.roles.Role. One query."""
    if not user.is_authenticated:
        return []
    held = Q(user=user)
    if clinic is not None:
        held |= Q(
            staff_memberships__user=user,
            staff_memberships__clinic=clinic,
            staff_memberships__deactivated_at__isnull=True,
        )
    names = set(Group.objects.filter(held).values_list("name", flat=True))
    return [role for role in Role if role.value in names]


def clinic_roles(values: Iterable[str]) -> list[Role]:
    """The clinic roles named, by value ("Nurse") or by name ("NURSE"); any other name
    is refused, naming the roles a clinic has. The installation administrator is not
    a clinic role: no manager can grant it."""
    by_name = {role.value.lower(): role for role in CLINIC_ROLES} | {
        role.name.lower(): role for role in CLINIC_ROLES
    }
    chosen: list[Role] = []
    for value in values:
        role = by_name.get(str(value).strip().lower())
        if role is None:
            allowed = ", ".join(role.value for role in CLINIC_ROLES)
            raise RuleViolation(
                f"“{value}” is not a clinic role. A clinic's roles are: {allowed}.",
                code="unknown_role",
                field="roles",
            )
        if role not in chosen:
            chosen.append(role)
    return chosen


def membership_roles_set(
    *, membership: StaffMembership, roles: Iterable[str], changed_by: Any, why: str
) -> StaffMembership:
    """Set the roles this member of staff holds in this clinic. The change is kept in
    the membership's history with who made it and why."""
    chosen = clinic_roles(roles)
    with transaction.atomic():
        locked = StaffMembership.objects.select_for_update().get(pk=membership.pk)
        audited(locked, by=changed_by, why=why)
        locked.roles.set(Group.objects.filter(name__in=[role.value for role in chosen]))
    return locked
