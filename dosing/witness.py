"""A witness confirms a controlled drug record with their own password.

Used by the dosing room (each injection, and each correction of one) and by the
controlled drugs register (waste and destruction of stock).
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model

from hat_clinic.errors import RuleViolation

from .models import WitnessFailure

USERNAME_LENGTH = WitnessFailure._meta.get_field("username").max_length


def witness_confirm(
    *,
    witness_username: str,
    witness_password: str,
    nurse,
    clinic,
    now: dt.datetime,
    permission: str = "dosing.witness_dose",
    may_witness: str = "doses in this clinic: a witness is an HCA or a nurse of the clinic",
):
    """The witness confirms with their own credentials: picking a name is not enough.

    Wrong passwords are limited like logins (AXES_FAILURE_LIMIT within
    AXES_COOLOFF_TIME, per witness), so the field cannot be used to guess a
    colleague's password. Failures are saved outside the dose's transaction.
    """
    witness_username = (witness_username or "").strip()
    if len(witness_username) > USERNAME_LENGTH:
        # Nobody has such a name; it is not kept as a failure either (the column holds 150).
        raise RuleViolation(
            "The witness's username or password is not right. The witness must enter their own.",
            code="witness_not_confirmed",
            field="witness_username",
        )
    if not witness_username:
        raise RuleViolation(
            "The witness enters their username and password.",
            code="witness_required",
            field="witness_username",
        )
    window_start = now - settings.AXES_COOLOFF_TIME
    failures = WitnessFailure.objects.filter(username=witness_username, failed_at__gte=window_start)
    if failures.count() >= settings.AXES_FAILURE_LIMIT:
        raise RuleViolation(
            f"Too many wrong passwords for witness {witness_username}: witnessing is locked "
            f"for {int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)} minutes. Ask another "
            "member of staff to witness.",
            code="witness_locked",
            field="witness_username",
        )
    witness = get_user_model().objects.filter(username=witness_username).first()
    if witness is None or not witness.check_password(witness_password or ""):
        WitnessFailure.objects.create(username=witness_username, failed_at=now, nurse=nurse)
        raise RuleViolation(
            "The witness's username or password is not right. The witness must enter their own.",
            code="witness_not_confirmed",
            field="witness_password",
        )
    WitnessFailure.objects.filter(username=witness_username).delete()
    if witness.pk == nurse.pk:
        raise RuleViolation(
            "The witness must be a different member of staff.",
            code="witness_is_nurse",
            field="witness_username",
        )
    if not (
        witness.is_active
        and witness.has_perm(permission)
        and witness.memberships.filter(clinic=clinic).exists()
    ):
        raise RuleViolation(
            f"{witness.get_full_name() or witness.username} cannot witness {may_witness}.",
            code="witness_not_allowed",
            field="witness_username",
        )
    return witness
