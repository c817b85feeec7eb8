"""Staff log in with two factors (issue 16.2): the password, then a six-digit code from
an authenticator app (TOTP, RFC 6238) or one of ten one-time recovery codes.

The devices are django-otp's: one TOTP device and one set of recovery codes per
member of staff. A session counts as verified once ``verify`` (or ``enrol_confirm``)
accepted a code; deleting the devices (``reset``) unverifies every session they
verified, because django-otp looks the device up on each request.
"""

import math
import re
from base64 import b32encode
from dataclasses import dataclass

import segno
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from hat_clinic.errors import RuleViolation

from .models import SecondFactorEvent, StaffMembership

Kind = SecondFactorEvent.Kind

AUTHENTICATOR = "Authenticator app"
RECOVERY = "Recovery codes"

WRONG_CODE = (
    "That code is not right. Type the 6 numbers your authenticator app shows now "
    "(check that your phone's clock is right), or one of your recovery codes."
)


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows: the QR code to scan, and the same key to type."""

    qr_svg: str
    key: str  # base32, in groups of four, for typing into the app by hand


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def is_enrolled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrol_start(user) -> Enrolment:
    """The authenticator key being set up: the same one each time the page is opened
    until a code from it is confirmed, so a reload does not break a half-done scan."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    qr = segno.make(device.config_url, error="m")
    key = b32encode(device.bin_key).decode()
    return Enrolment(
        qr_svg=qr.svg_inline(scale=5, dark="#000", light="#fff", title="QR code to scan"),
        key=" ".join(key[i : i + 4] for i in range(0, len(key), 4)),
    )


@transaction.atomic
def enrol_confirm(request, code: str) -> list[str]:
    """Confirm the authenticator being set up with a code it shows, verify this session
    with it, and make the first recovery codes, returned to be shown once."""
    user = request.user
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise RuleViolation(
            "Open the set-up page again to get a QR code to scan.", code="no_enrolment"
        )
    if not _digits(code) or not device.verify_token(_digits(code)):
        raise RuleViolation(WRONG_CODE, code="wrong_code", field="code")
    # One authenticator per person: any older one goes with the new one's arrival.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user)
    _event(user, Kind.ENROLLED)
    otp_login(request, device)
    return codes


def verify(request, code: str) -> int | None:
    """Verify this session with a code from the authenticator or a recovery code.
    Returns None for an authenticator code, or how many recovery codes are left when
    one was used. Each wrong code doubles the wait before the next may be tried
    (django-otp's throttling: 1, 2, 4 … seconds), so codes cannot be guessed."""
    user = request.user
    digits, recovery_code = _digits(code), _recovery_form(code)
    model = TOTPDevice if digits else StaticDevice
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user).first()
        if model is TOTPDevice and device is not None and not device.confirmed:
            device = None
        if device is not None:
            wait = _throttled(device)
            if wait:
                seconds = "1 second" if wait == 1 else f"{wait} seconds"
                raise RuleViolation(
                    f"Too many wrong codes. Wait {seconds}, then try again.",
                    code="too_many_codes",
                    field="code",
                )
            if (digits or recovery_code) and device.verify_token(digits or recovery_code):
                otp_login(request, device)
                if model is TOTPDevice:
                    return None
                _event(user, Kind.RECOVERY_USED)
                return device.token_set.count()
            if not (digits or recovery_code):
                device.throttle_increment()
    raise RuleViolation(WRONG_CODE, code="wrong_code", field="code")


@transaction.atomic
def recovery_renew(user) -> list[str]:
    """New recovery codes for this member of staff; the old ones stop working."""
    codes = _new_recovery_codes(user)
    _event(user, Kind.RECOVERY_RENEWED)
    return codes


def recovery_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


@transaction.atomic
def reset(*, user, by=None, clinic=None) -> None:
    """Remove a member of staff's authenticator and recovery codes: their next login
    asks them to set up an authenticator again, and every session their old devices
    verified must pass the second factor again.

    A manager resets only staff of the clinic they are working in, never themselves
    (another manager does, or their own recovery codes) and never an installation
    administrator (the command line does). ``by=None`` is the command line.
    """
    if by is not None:
        if clinic is None or not StaffMembership.objects.filter(user=user, clinic=clinic).exists():
            raise RuleViolation("No such member of staff in this clinic.", code="not_found")
        if user.pk == by.pk:
            raise RuleViolation(
                "You cannot reset your own second factor. Use one of your recovery codes, "
                "or ask another manager.",
                code="own_second_factor",
            )
        if user.is_superuser:
            raise RuleViolation(
                "An installation administrator's second factor is reset on the server, "
                "with manage.py reset_second_factor.",
                code="administrator",
            )
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    _event(user, Kind.RESET, by=by, clinic=clinic)


def _new_recovery_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, defaults={"name": RECOVERY})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def _digits(code: str) -> str:
    """A six-digit authenticator code, as typed: spaces allowed ("123 456")."""
    compact = re.sub(r"\s", "", code or "")
    return compact if re.fullmatch(r"\d{6}", compact) else ""


def _recovery_form(code: str) -> str:
    """A recovery code as stored: lower case, without the dash or spaces shown."""
    compact = re.sub(r"[\s-]", "", code or "").lower()
    return compact if re.fullmatch(r"[a-z2-7]{8}", compact) else ""


def _throttled(device) -> int | None:
    """Seconds to wait before this device may check a code again, or None."""
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    until = (details or {}).get("locked_until")
    return max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1


def _event(user, kind, *, by=None, clinic=None) -> None:
    SecondFactorEvent.objects.create(user=user, kind=kind, by=by, clinic=clinic, at=timezone.now())


def staff_of(clinics) -> QuerySet[StaffMembership]:
    """The clinics' staff for the staff page and ``staff/``: each membership with its
    person, roles, whether they have set up an authenticator and when, and how many
    recovery codes they have left. Three queries, whatever the number of staff."""
    enrolled_at = SecondFactorEvent.objects.filter(
        user=OuterRef("user"), kind=Kind.ENROLLED
    ).order_by("-at")
    return (
        StaffMembership.objects.filter(clinic__in=clinics)
        .select_related("user", "clinic")
        .prefetch_related("user__groups")
        .annotate(
            second_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("user"), confirmed=True)),
            second_factor_since=Subquery(enrolled_at.values("at")[:1]),
            recovery_codes_left=Coalesce(
                Subquery(
                    StaticToken.objects.filter(device__user=OuterRef("user"))
                    .values("device__user")
                    .annotate(n=Count("pk"))
                    .values("n")[:1]
                ),
                0,
            ),
        )
        .order_by("user__last_name", "user__first_name", "user__username")
    )
