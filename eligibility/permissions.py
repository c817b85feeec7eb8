"""Permissions per clinic (issue 18.1): what a member of staff may do is the
permissions of the roles they hold in the clinic the record belongs to.

- ``user.has_perm(perm, clinic)`` asks about one clinic.
- ``user.has_perm(perm)`` asks about the clinics the request acts in (``act_in``):
  a page acts in the clinic chosen in the navigation (hat_clinic.middleware), an API
  action in the clinics where the caller holds the action's permission
  (core.api.ActionPermissions). The records a request can reach are those clinics'
  only (``StaffMembership.objects.clinic_ids_in_scope``), so a check and the records
  it lets through are of the same clinics. Unset (a Celery task, a shell), a check
  spans every clinic of the person's.
- The installation administrator's role, held on the account, counts everywhere.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import IntegerField, Q, Value

from core.roles import ACTING_IN

from .models import Clinic, StaffMembership

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

_CACHE = "_hat_permission_cache"
_UNIONS = "_hat_permission_unions"


def _cached(user: Any, name: str, make: Any) -> Any:
    """A per-request cache kept on the user object (getattr and setattr, not
    __dict__: request.user may be Django's lazy proxy)."""
    found = getattr(user, name, None)
    if found is None:
        found = make()
        setattr(user, name, found)
    return found


def act_in(user: Any, clinic_ids: Iterable[int]) -> None:
    """From now on, this request's checks and records are of these clinics only."""
    setattr(user, ACTING_IN, sorted(set(clinic_ids)))


def clinics_holding(user: Any, permission: str) -> list[int]:
    """The ids of the clinics where this member of staff holds ``permission``: every
    clinic of theirs where it is their account's own (a superuser, the installation
    administrator). Read from the one query of ``_by_clinic``."""
    by_clinic = _by_clinic(user)
    everywhere = holds_on_account(user, permission)
    return [
        clinic
        for clinic, held in by_clinic.items()
        if clinic is not ACCOUNT and (everywhere or permission in held)
    ]


def holds_on_account(user: Any, permission: str) -> bool:
    """Whether this person holds ``permission`` on their account, in no clinic in
    particular: the installation administrator's role, or a superuser."""
    if not user.is_authenticated:
        return False
    return bool(user.is_superuser) or permission in _by_clinic(user)[ACCOUNT]


# The key in ``_by_clinic`` for the permissions held on the account, in every clinic.
ACCOUNT = None


def _by_clinic(user: Any) -> dict[int | None, set[str]]:
    """The permissions this person holds: on their account (under ACCOUNT), and in each
    clinic where they are active staff, by the clinic's id. One query, kept on the user
    object for the request."""
    # getattr and setattr, not __dict__: request.user may be Django's lazy proxy.
    cached: dict[int | None, set[str]] | None = getattr(user, _CACHE, None)
    if cached is not None:
        return cached
    in_clinics = (
        StaffMembership.objects.active()
        .order_by()
        .filter(user=user)
        .values_list(
            "clinic_id",
            "roles__permissions__content_type__app_label",
            "roles__permissions__codename",
        )
    )
    on_account = (
        Permission.objects.filter(Q(user=user) | Q(group__user=user))
        .order_by()
        .annotate(clinic=Value(None, output_field=IntegerField()))
        .values_list("clinic", "content_type__app_label", "codename")
    )
    found: dict[int | None, set[str]] = {ACCOUNT: set()}
    for clinic, app_label, codename in in_clinics.union(on_account, all=True):
        held = found.setdefault(clinic, set())
        if codename is not None:  # a membership with no roles holds nothing there
            held.add(f"{app_label}.{codename}")
    setattr(user, _CACHE, found)
    return found


class ClinicRoleBackend(ModelBackend):
    """Django's ModelBackend for logging in; permissions by clinic, as above."""

    def get_all_permissions(
        self, user_obj: "AbstractBaseUser | AnonymousUser", obj: Any = None
    ) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous:
            return set()
        if isinstance(obj, Clinic):
            clinics: list[int] | None = [obj.pk]
        elif obj is None:
            clinics = getattr(user_obj, ACTING_IN, None)
        else:
            return set()  # about a record of another kind: ask about its clinic
        # A page asks many times (its navigation, its buttons): each set of clinics'
        # union is made once per request, from the one query of _by_clinic.
        unions: dict[tuple[int, ...] | None, set[str]] = _cached(user_obj, _UNIONS, dict)
        key = None if clinics is None else tuple(clinics)
        if key not in unions:
            by_clinic = _by_clinic(user_obj)
            held = set(by_clinic[ACCOUNT])
            for clinic, permissions in by_clinic.items():
                if clinic is not ACCOUNT and (clinics is None or clinic in clinics):
                    held |= permissions
            unions[key] = held
        return unions[key]

    def get_user_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return self.get_all_permissions(user_obj, obj)

    def get_group_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        return self.get_all_permissions(user_obj, obj)

    def act_where_held(self, user_obj: Any, perm: str) -> None:
        """An API action: act in the clinics where the caller holds its permission
        (core.api.act_where_held), unless the request already acts somewhere."""
        if getattr(user_obj, ACTING_IN, None) is None:
            act_in(user_obj, clinics_holding(user_obj, perm))

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return bool(user_obj.is_active) and perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return bool(user_obj.is_active) and any(
            perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj)
        )
