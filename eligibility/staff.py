"""A clinic's staff, run by its managers (issue 18.2): add a person or invite them by
a one-time link, set their roles in the clinic, take them off its staff, and give
them a link to set a new password. Every change is kept in the membership's or the
account's history with who made it and why.

A manager acts only in their own clinics: on someone who also works where the
manager is not a manager, or who administers the installation, the page says so
instead (``outside_refusal``).
"""

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import audited
from core.errors import RuleViolation, require_reason
from core.roles import Role

from .models import Clinic, StaffLink, StaffMembership
from .roles import clinic_roles, membership_roles_set

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def outside_refusal(*, user: Any, by: Any) -> RuleViolation | None:
    """Why this manager may not change this person's account (their password, their
    second factor), or None. Never their own here; never an installation
    administrator's; never someone who also works where the manager is not a
    manager, whose other clinic would feel it."""
    if user.pk == by.pk:
        return RuleViolation(
            "You cannot do this to your own account here: ask another manager.",
            code="own_account",
        )
    if user.is_superuser or user.pk in administrators([user.pk]):
        return RuleViolation(
            "This account administers the installation: only on the server, with "
            "manage.py, can it be changed.",
            code="administrator",
        )
    if user.pk in working_outside([user.pk], manager=by):
        return RuleViolation(
            f"{user.get_full_name() or user.username} also works in a clinic you do not "
            "manage: ask its manager, or the installation administrator.",
            code="outside_your_clinics",
        )
    return None


def administrators(user_ids: Iterable[int]) -> set[int]:
    """Which of these people hold the installation administrator's role. One query."""
    return set(
        get_user_model()
        .objects.filter(pk__in=list(user_ids), groups__name=Role.INSTALLATION_ADMIN.value)
        .values_list("pk", flat=True)
    )


def working_outside(user_ids: Iterable[int], *, manager: Any) -> set[int]:
    """Which of these people are on the staff of a clinic this manager does not
    manage. One query, for a whole staff list."""
    managed = StaffMembership.objects.active().filter(user=manager, roles__name=Role.MANAGER.value)
    return set(
        StaffMembership.objects.active()
        .filter(user_id__in=list(user_ids))
        .exclude(clinic_id__in=managed.values("clinic_id"))
        .values_list("user_id", flat=True)
    )


def staff_add(
    *,
    clinic: Clinic,
    username: str,
    roles: Iterable[str],
    added_by: Any,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    now: dt.datetime | None = None,
) -> tuple[StaffMembership, str | None]:
    """Put a person on the clinic's staff with these roles. An existing account (by
    username) joins, or rejoins after being taken off; a new one is made without a
    password, and the key of a one-time link to set it is returned, shown once."""
    now = now or timezone.now()
    chosen = clinic_roles(roles)
    if not chosen:
        raise RuleViolation(
            "Give the person at least one role in the clinic.", code="roles_required", field="roles"
        )
    username = (username or "").strip()
    if not username:
        raise RuleViolation("Give a username.", code="username_required", field="username")
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username__iexact=username).first()
        key = None
        if user is None:
            user = new_account(username, first_name, last_name, email)
            user.set_unusable_password()  # until they set one through their link
            user.save()
            key = _link(user=user, clinic=clinic, by=added_by, kind=StaffLink.Kind.INVITE, now=now)
        elif hasattr(user, "integration_token"):
            raise RuleViolation(
                f"{username} is an integration token's account, not a person's.",
                code="not_a_person",
                field="username",
            )
        membership, created = StaffMembership.objects.select_for_update().get_or_create(
            user=user, clinic=clinic, defaults={}
        )
        if not created and membership.deactivated_at is None:
            raise RuleViolation(
                f"{user.get_full_name() or user.username} is already on the staff: change "
                "their roles on their page.",
                code="already_staff",
                field="username",
            )
        if not user.is_active:
            # Taken off every clinic's staff before: back on this one.
            user.is_active = True
            user.save(update_fields=["is_active"])
        audited(
            membership, by=added_by, why="Added to the staff" if created else "Back on the staff"
        )
        membership.deactivated_at = None
        membership.save()
        audited(membership, by=added_by, why="Roles given")
        membership.roles.set(Group.objects.filter(name__in=[role.value for role in chosen]))
    return membership, key


def new_account(
    username: str, first_name: str, last_name: str, email: str, *, field_prefix: str = ""
) -> Any:
    """A new person's account, not yet saved: their names are required, and the
    username and e-mail must be valid. A refusal names the form's field
    (``field_prefix`` + the account's field)."""
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    for field, value, what in [
        ("first_name", first_name, "first"),
        ("last_name", last_name, "last"),
    ]:
        if not value:
            raise RuleViolation(
                f"{username} is a new account: give the person's {what} name.",
                code="name_required",
                field=field_prefix + field,
            )
    user = get_user_model()(
        username=username, first_name=first_name, last_name=last_name, email=(email or "").strip()
    )
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as invalid:
        field, messages = next(iter(invalid.message_dict.items()))
        raise RuleViolation(
            " ".join(messages), code="invalid", field=field_prefix + field
        ) from invalid
    return user


def staff_roles_change(
    *, membership: StaffMembership, roles: Iterable[str], changed_by: Any, reason: str
) -> StaffMembership:
    """Set the roles a member of staff holds in this clinic, with a reason. A manager
    may not take away their own manager's role: another manager does."""
    reason = require_reason(reason)
    chosen = clinic_roles(roles)
    if not chosen:
        raise RuleViolation(
            "Give at least one role, or take the person off the staff instead.",
            code="roles_required",
            field="roles",
        )
    if membership.user_id == changed_by.pk and Role.MANAGER not in chosen:
        raise RuleViolation(
            "You cannot take away your own manager's role: ask another manager.",
            code="own_manager_role",
            field="roles",
        )
    return membership_roles_set(
        membership=membership, roles=[r.value for r in chosen], changed_by=changed_by, why=reason
    )


def staff_deactivate(
    *, membership: StaffMembership, by: Any, reason: str, now: dt.datetime | None = None
) -> StaffMembership:
    """Take a person off this clinic's staff: they no longer see or do anything in
    it; what they recorded stays, under their name. Someone on no other clinic's
    staff can no longer log in, and their open sessions end."""
    now = now or timezone.now()
    reason = require_reason(reason)
    if membership.user_id == by.pk:
        raise RuleViolation(
            "You cannot take yourself off the staff: ask another manager.",
            code="own_account",
            field="reason",
        )
    with transaction.atomic():
        locked = StaffMembership.objects.select_for_update().get(pk=membership.pk)
        if locked.deactivated_at is not None:
            raise RuleViolation(
                "This person is already off the staff.", code="already_off", field="reason"
            )
        audited(locked, by=by, why=reason)
        locked.deactivated_at = now
        locked.save(update_fields=["deactivated_at"])
        user = locked.user
        if not StaffMembership.objects.active().filter(user=user).exists() and not (
            user.is_superuser or user.groups.exists()
        ):
            user.is_active = False
            user.save(update_fields=["is_active"])
    return locked


def password_reset_link(
    *, membership: StaffMembership, by: Any, now: dt.datetime | None = None
) -> str:
    """A one-time link for this person to set a new password. Their old password stops
    working now. Returns the link's key, shown once."""
    now = now or timezone.now()
    user = membership.user
    refusal = outside_refusal(user=user, by=by)
    if refusal is not None:
        raise refusal
    if membership.deactivated_at is not None:
        raise RuleViolation(
            "This person is off the staff: put them back on it first.", code="not_staff"
        )
    with transaction.atomic():
        # The link records who reset it and when (StaffLink): the account's audit.
        user.set_unusable_password()
        user.save(update_fields=["password"])
        return _link(user=user, clinic=membership.clinic, by=by, kind=StaffLink.Kind.RESET, now=now)


def _link(*, user: Any, clinic: Clinic, by: Any, kind: str, now: dt.datetime) -> str:
    """A new one-time link; any earlier unused one for the person stops working."""
    StaffLink.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    key = secrets.token_urlsafe(32)
    StaffLink.objects.create(
        user=user,
        clinic=clinic,
        kind=kind,
        key_hash=_hash(key),
        created_by=by,
        created_at=now,
        expires_at=now + settings.STAFF_LINK_LIFETIME,
    )
    return key


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def link_for(key: str, *, now: dt.datetime | None = None) -> StaffLink | None:
    """The link this key opens, if it is unused and unexpired; None otherwise, with no
    word on which (an expired link and a wrong key look the same)."""
    now = now or timezone.now()
    return (
        StaffLink.objects.select_related("user", "clinic")
        .filter(key_hash=_hash(key or ""), used_at__isnull=True, expires_at__gt=now)
        .first()
    )


def link_use(*, key: str, password: str, now: dt.datetime | None = None) -> "User":
    """Set the person's password through their link, which then stops working."""
    now = now or timezone.now()
    with transaction.atomic():
        link = link_for(key, now=now)
        if link is None:
            raise RuleViolation(LINK_GONE, code="link_gone")
        link = StaffLink.objects.select_for_update().get(pk=link.pk)
        if link.used_at is not None:
            raise RuleViolation(LINK_GONE, code="link_gone")
        user = link.user
        try:
            validate_password(password, user)
        except ValidationError as weak:
            raise RuleViolation(
                " ".join(weak.messages), code="password_invalid", field="new_password1"
            ) from weak
        user.set_password(password)
        user.save(update_fields=["password"])
        link.used_at = now
        link.save(update_fields=["used_at"])
    return user


LINK_GONE = "This link has expired or has been used. Ask your clinic's manager for a new one."
