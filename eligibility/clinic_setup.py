"""Opening a clinic (issue 18.1): an installation administrator names the clinic, its
address, time zone and capacity, and its first manager, who runs the rest (staff,
policy, pharmacies, the register) from the browser."""

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from core.errors import RuleViolation
from core.roles import Role

from .models import Clinic
from .services import clinic_create, staff_member_add
from .staff import new_account

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def time_zone_choices() -> list[str]:
    """Every IANA time zone, sorted, for a clinic's choice."""
    return sorted(available_timezones())


def clinic_open(
    *,
    name: str,
    time_zone: str,
    capacity: int,
    manager_username: str,
    opened_by: "User",
    address: str = "",
    phone: str = "",
    manager_first_name: str = "",
    manager_last_name: str = "",
    manager_email: str = "",
    manager_password: str = "",
    now: dt.datetime | None = None,
) -> tuple[Clinic, "User"]:
    """A new clinic with the default policy (and this capacity) in force from now, an
    empty register, and its first manager: an existing account named by username, or
    a new one with the name and password given. All of it, or nothing."""
    name = (name or "").strip()
    if not name:
        raise RuleViolation("Name the clinic.", code="name_required", field="name")
    if Clinic.objects.filter(name__iexact=name).exists():
        raise RuleViolation(
            f"There is already a clinic called {name}: choose another name.",
            code="clinic_name_taken",
            field="name",
        )
    if time_zone not in available_timezones():
        raise RuleViolation(
            "Choose the clinic's time zone from the list, e.g. Europe/London.",
            code="time_zone_invalid",
            field="time_zone",
        )
    if not isinstance(capacity, int) or capacity < 1:
        raise RuleViolation(
            "Give the number of places the clinic has: 1 or more.",
            code="capacity_invalid",
            field="capacity",
        )
    with transaction.atomic():
        manager = _first_manager(
            username=manager_username,
            first_name=manager_first_name,
            last_name=manager_last_name,
            email=manager_email,
            password=manager_password,
        )
        clinic = clinic_create(
            name=name,
            address=(address or "").strip(),
            phone=(phone or "").strip(),
            time_zone=time_zone,
            created_by=opened_by,
            now=now,
            capacity=capacity,
        )
        staff_member_add(clinic=clinic, user=manager, added_by=opened_by, roles=[Role.MANAGER])
    return clinic, manager


def _first_manager(
    *, username: str, first_name: str, last_name: str, email: str, password: str
) -> Any:
    """The account named, or a new one. Called inside the clinic's transaction."""
    User = get_user_model()
    username = (username or "").strip()
    if not username:
        raise RuleViolation(
            "Give the first manager's username: an existing account's, or a new one.",
            code="manager_required",
            field="manager_username",
        )
    existing = User.objects.filter(username__iexact=username).first()
    if existing is not None:
        if not existing.is_active or hasattr(existing, "integration_token"):
            raise RuleViolation(
                f"{username} is not an active member of staff's account: choose another "
                "username for the manager.",
                code="manager_inactive",
                field="manager_username",
            )
        if password:
            raise RuleViolation(
                f"{existing.username} already has an account and keeps its password: leave "
                "the password blank to make them the manager, or choose a new username.",
                code="manager_exists",
                field="manager_password",
            )
        return existing
    manager = new_account(username, first_name, last_name, email, field_prefix="manager_")
    if not password:
        raise RuleViolation(
            f"{username} is a new account: set a first password, which they give at their "
            "first login (with an authenticator app they set up then).",
            code="manager_password_required",
            field="manager_password",
        )
    try:
        validate_password(password, manager)
    except ValidationError as weak:
        raise RuleViolation(
            " ".join(weak.messages), code="password_invalid", field="manager_password"
        ) from weak
    manager.set_password(password)
    manager.save()
    return manager
