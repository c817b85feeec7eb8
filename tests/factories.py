"""Test data, made through the services so a test cannot pass on a state the
application could never reach."""

import datetime as dt
from functools import cache
from itertools import count

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.roles import Role
from eligibility.models import Status
from eligibility.services import (
    clinic_create,
    service_user_register,
    service_user_walk,
    staff_member_add,
)
from eligibility.synthetic import synthetic_nhs_numbers

PASSWORD = "correct-horse-battery"
# A documented transfer with its evidence (docs/domain.md): an established dose from day one.
TRANSFER = {
    "documented_transfer": True,
    "transfer_service": "Leeds HAT service",
    "transfer_last_dose_mg": "60",
    "transfer_last_dose_on": dt.date(2025, 12, 31),
    "transfer_confirmed_by": "Dr A Khan, Leeds, by phone",
}

_nhs_numbers = synthetic_nhs_numbers(start=500_000)
_clinic_serial = count(1)


@cache
def _password_hash() -> str:
    # Argon2 is slow by design; hash the shared test password once per run.
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    password = factory.LazyFunction(_password_hash)


def make_clinic(name: str | None = None, **policy_values):
    return clinic_create(name=name or f"Clinic {next(_clinic_serial)}", **policy_values)


def make_staff(clinic, *roles: Role, second_factor: bool = True, **fields):
    """A member of staff with these roles, who has set up an authenticator app (as
    everyone must before using the clinic's pages), unless second_factor=False."""
    user = UserFactory(**fields)
    # The installation administrator's role is the account's; every other is held in
    # the clinic (a pharmacy integration's too, as a token's account holds it).
    on_account = {Role.INSTALLATION_ADMIN}
    if clinic is not None:
        membership = staff_member_add(clinic=clinic, user=user)
        held_here = [role.value for role in roles if role not in on_account]
        membership.roles.add(*Group.objects.filter(name__in=held_here))
    user.groups.add(*Group.objects.filter(name__in=[r.value for r in roles if r in on_account]))
    if second_factor:
        enrol_authenticator(user)
    return user


def enrol_authenticator(user) -> TOTPDevice:
    """The person has set up an authenticator app (as the set-up page would)."""
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def second_factor_code(user) -> str:
    """The code the person's authenticator app shows now. A device rightly refuses a
    code it already accepted, and many tests freeze the clock, so logging in twice
    within one 30-second step would reuse one: the code's last use is forgotten first,
    as a new step would."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{code:0{device.digits}d}"


class StaffClient(Client):
    """A test client whose force_login stands for the second factor as well as the
    password: the session counts as verified with the person's authenticator, if they
    set one up. Someone without one is logged in with the password only."""

    def force_login(self, user, backend=None):
        super().force_login(user, backend)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()


# The shortest allowed path from "referred" to each status.
PATH_TO = {
    Status.REFERRED: [],
    Status.ASSESSING: [Status.ASSESSING],
    Status.DECLINED: [Status.DECLINED],
    Status.WAITING: [Status.ASSESSING, Status.WAITING],
    Status.TITRATION: [Status.ASSESSING, Status.TITRATION],
    Status.MAINTENANCE: [Status.ASSESSING, Status.TITRATION, Status.MAINTENANCE],
    Status.RETITRATION_REQUIRED: [
        Status.ASSESSING,
        Status.TITRATION,
        Status.MAINTENANCE,
        Status.RETITRATION_REQUIRED,
    ],
    Status.RETITRATION: [
        Status.ASSESSING,
        Status.TITRATION,
        Status.MAINTENANCE,
        Status.RETITRATION_REQUIRED,
        Status.RETITRATION,
    ],
    Status.SUSPENDED: [Status.ASSESSING, Status.TITRATION, Status.SUSPENDED],
    Status.EXITED: [Status.EXITED],
}


def make_service_user(
    clinic,
    status: Status = Status.REFERRED,
    *,
    by=None,
    flags=(),
    now: dt.datetime | None = None,
    **fields,
):
    defaults = {
        "given_name": "Jamie",
        "family_name": "Test",
        "date_of_birth": dt.date(1980, 1, 1),
        "nhs_number": next(_nhs_numbers),
    }
    defaults.update(fields)
    service_user = service_user_register(
        clinic=clinic, registered_by=by, flags=flags, now=now, **defaults
    )
    return service_user_walk(
        service_user=service_user,
        path=PATH_TO[status],
        changed_by=by,
        reason="Test set-up",
        now=now,
    )


def make_pharmacy_token(clinic, *, created_by, pharmacy=None, name="High St Pharmacy", now=None):
    """A pharmacy integration's token and its key, for `pharmacy` (a new one of the
    clinic's when none is given)."""
    from dosing.prescribing import pharmacy_add
    from eligibility.tokens import token_issue

    pharmacy = pharmacy or (
        clinic.pharmacies.filter(name=name).first()
        or pharmacy_add(clinic=clinic, name=name, address="1 High St")
    )
    return token_issue(
        clinic=clinic,
        name=name,
        role=Role.PHARMACY,
        pharmacy=pharmacy,
        created_by=created_by,
        **({"now": now} if now else {}),
    )
