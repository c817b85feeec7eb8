"""A witness confirms a controlled drug record with their own password.

Used by the dosing room (each injection, and each correction of one) and by the
controlled drugs register (waste and destruction of stock).

The check is no oracle (issue 16.4). It first asks whether the username is an active
member of this clinic's staff. An unknown username, another clinic's staff and a wrong
password all get the same nameless refusal, after the same work: one password hash.
Failures count per witness and clinic, only for this clinic's staff, so nobody at
another clinic can lock a nurse out of witnessing here.
"""

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.views.decorators.debug import sensitive_variables

from core.errors import RuleViolation
from eligibility.models import StaffMembership

from .models import WitnessFailure

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from eligibility.models import Clinic

USERNAME_LENGTH: int = WitnessFailure._meta.get_field("username").max_length  # type: ignore[assignment]

NOT_CONFIRMED = (
    "The witness's username or password is not right, or they are not on this clinic's "
    "staff. The witness must enter their own."
)


def _not_confirmed() -> RuleViolation:
    # One field for every case: which field is marked must not tell them apart either.
    return RuleViolation(NOT_CONFIRMED, code="witness_not_confirmed", field="witness_password")


@sensitive_variables("witness_password")
def witness_confirm(
    *,
    witness_username: str,
    witness_password: str,
    nurse: "User",
    clinic: "Clinic",
    now: dt.datetime,
    permission: str = "dosing.witness_dose",
    may_witness: str = "doses in this clinic: a witness is an HCA or a nurse of the clinic",
) -> "User":
    """The witness confirms with their own credentials: picking a name is not enough.

    Wrong passwords are limited like logins (AXES_FAILURE_LIMIT within
    AXES_COOLOFF_TIME, per witness and clinic), so the field cannot be used to guess a
    colleague's password. Failures are saved outside the dose's transaction.
    """
    witness_username = (witness_username or "").strip()
    if not witness_username:
        raise RuleViolation(
            "The witness enters their username and password.",
            code="witness_required",
            field="witness_username",
        )
    witness = None
    if len(witness_username) <= USERNAME_LENGTH:  # the column holds 150; nobody is longer
        witness = (
            get_user_model()
            .objects.filter(
                username=witness_username,
                is_active=True,
                pk__in=StaffMembership.objects.active().filter(clinic=clinic).values("user_id"),
            )
            .first()
        )
    if witness is None:
        # The same cost as checking a real password, so time tells nothing either.
        make_password(witness_password or "")
        raise _not_confirmed()
    failures = WitnessFailure.objects.filter(
        username=witness_username, clinic=clinic, failed_at__gte=now - settings.AXES_COOLOFF_TIME
    )
    if failures.count() >= settings.AXES_FAILURE_LIMIT:
        raise RuleViolation(
            f"Too many wrong passwords for witness {witness_username}: witnessing is locked "
            f"for {int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)} minutes. Ask another "
            "member of staff to witness.",
            code="witness_locked",
            field="witness_username",
        )
    if not witness.check_password(witness_password or ""):
        WitnessFailure.objects.create(
            username=witness_username, clinic=clinic, failed_at=now, nurse=nurse
        )
        raise _not_confirmed()
    WitnessFailure.objects.filter(username=witness_username, clinic=clinic).delete()
    if witness.pk == nurse.pk:
        raise RuleViolation(
            "The witness must be a different member of staff.",
            code="witness_is_nurse",
            field="witness_username",
        )
    if not witness.has_perm(permission, clinic):  # a role held in this clinic
        raise RuleViolation(
            f"That member of staff cannot witness {may_witness}.",
            code="witness_not_allowed",
            field="witness_username",
        )
    return witness
