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
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.errors import RuleViolation

from .models import SecondFactorEvent, StaffMembership
from .staff import administrators, working_outside

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
    return confirmed_device(user) is not None


# The session holds the key being set up: a key belongs to the browser that asked for
# it, so someone else who knows the password cannot read, from their own browser,
# the key the person is about to scan.
PENDING_KEY = "hat_second_factor_pending"

# Each wrong code doubles the wait before the next (1, 2, 4 … seconds), up to this
# many failures' worth: 2**9 seconds, about 8½ minutes. Guessing stays hopeless (a
# few hundred tries a day against a million codes), and someone who knows only the
# password cannot lock the person out for days.
MOST_FAILURES_COUNTED = 10


def enrol_start(request) -> Enrolment:
    """The authenticator key this browser is setting up: the same one each time the
    page is opened until a code from it is confirmed, so a reload does not break a
    half-done scan; a new one for a browser that holds none."""
    user = request.user
    device = TOTPDevice.objects.filter(
        user=user, confirmed=False, pk=request.session.get(PENDING_KEY)
    ).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
        request.session[PENDING_KEY] = device.pk
    qr = segno.make(device.config_url, error="m")
    key = b32encode(device.bin_key).decode()
    return Enrolment(
        qr_svg=qr.svg_inline(scale=5, dark="#000", light="#fff", title="QR code to scan"),
        key=" ".join(key[i : i + 4] for i in range(0, len(key), 4)),
    )


def enrol_confirm(request, code: str) -> list[str]:
    """Confirm the authenticator this browser is setting up with a code it shows,
    verify this session with it, and make the first recovery codes, returned to be
    shown once. Wrong codes are throttled as at login."""
    user = request.user
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False, pk=request.session.get(PENDING_KEY))
            .first()
        )
        if device is None:
            raise RuleViolation(
                "Open the set-up page again to get a QR code to scan.",
                code="no_enrolment",
                field="code",
            )
        if _checked(device, _digits(code)):
            # One authenticator per person: any other goes with the new one's arrival.
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _new_recovery_codes(user)
            _event(user, Kind.ENROLLED)
            otp_login(request, device)
            request.session.pop(PENDING_KEY, None)
            return codes
    # Outside the transaction, so that the failure's count is kept.
    raise RuleViolation(WRONG_CODE, code="wrong_code", field="code")


def verify(request, code: str) -> int | None:
    """Verify this session with a code from the authenticator or a recovery code.
    Returns None for an authenticator code, or how many recovery codes are left when
    one was used. Each wrong code doubles the wait before the next may be tried, so
    codes cannot be guessed."""
    user = request.user
    digits, recovery_code = _digits(code), _recovery_form(code)
    devices = (
        TOTPDevice.objects.filter(user=user, confirmed=True)
        if digits
        else StaticDevice.objects.filter(user=user)
    )
    with transaction.atomic():
        device = devices.select_for_update().first()
        if device is not None and _checked(device, digits or recovery_code):
            otp_login(request, device)
            if digits:
                return None
            _event(user, Kind.RECOVERY_USED)
            return device.token_set.count()
    # Outside the transaction, so that the failure's count is kept.
    raise RuleViolation(WRONG_CODE, code="wrong_code", field="code")


def _checked(device, token: str) -> bool:
    """Whether the device accepts the token. A device still waiting after wrong codes
    refuses to check and says how long to wait; a malformed token counts as wrong."""
    device.throttling_failure_count = min(device.throttling_failure_count, MOST_FAILURES_COUNTED)
    allowed, details = device.verify_is_allowed()
    if not allowed:
        raise RuleViolation(
            f"Too many wrong codes. Wait {_wait(details)}, then try again.",
            code="too_many_codes",
            field="code",
        )
    if token:
        return device.verify_token(token)
    device.throttle_increment()
    return False


def _wait(details) -> str:
    until = (details or {}).get("locked_until")
    seconds = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


@transaction.atomic
def recovery_renew(user) -> list[str]:
    """New recovery codes for this member of staff; the old ones stop working."""
    codes = _new_recovery_codes(user)
    _event(user, Kind.RECOVERY_RENEWED)
    return codes


def recovery_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def reset_refusal(*, user, by, staff: "StaffList | None" = None) -> RuleViolation | None:
    """Why this manager may not reset this person's second factor, or None: never
    their own (another manager does, or their recovery codes do), never an
    installation administrator's (the command line does), never someone's who also
    works where this manager does not manage (that clinic's manager does). A list
    passes ``staff``, read once for all its rows."""
    staff = staff or StaffList([user.pk], by)
    if user.pk == by.pk:
        return RuleViolation(
            "You cannot reset your own second factor. Use one of your recovery codes, "
            "or ask another manager.",
            code="own_second_factor",
        )
    if user.is_superuser or user.pk in staff.administrators:
        return RuleViolation(
            "An installation administrator's second factor is reset on the server, "
            "with manage.py reset_second_factor.",
            code="administrator",
        )
    if user.pk in staff.outside:
        return RuleViolation(
            f"{user.get_full_name() or user.username} also works in a clinic you do not "
            "manage: ask its manager, or the installation administrator.",
            code="outside_your_clinics",
        )
    return None


class StaffList:
    """Of these people, who administers the installation and who works where this
    manager does not manage: two queries for a whole staff list."""

    def __init__(self, user_ids, manager):
        self.administrators = administrators(user_ids)
        self.outside = working_outside(user_ids, manager=manager)


@transaction.atomic
def reset(*, user, by=None, clinic=None) -> None:
    """Remove a member of staff's authenticator and recovery codes: their next login
    asks them to set up an authenticator again, and every session their old devices
    verified must pass the second factor again.

    A manager (``by``) resets only staff of ``clinic``, a clinic the manager works in,
    and not as reset_refusal says. ``by=None`` is the command line, for anyone.
    """
    if by is not None:
        if clinic is None or not StaffMembership.objects.filter(user=user, clinic=clinic).exists():
            raise RuleViolation("No such member of staff in this clinic.", code="not_found")
        refusal = reset_refusal(user=user, by=by)
        if refusal:
            raise refusal
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


def _event(user, kind, *, by=None, clinic=None) -> None:
    SecondFactorEvent.objects.create(user=user, kind=kind, by=by, clinic=clinic, at=timezone.now())


def staff_of(clinics) -> QuerySet[StaffMembership]:
    """The clinics' staff for the staff page and ``staff/``: each person's membership
    (not integration tokens' accounts), those on the staff first, then those taken off
    it, with their roles, whether they have
    set up an authenticator and when, and how many recovery codes they have left. Two
    queries, whatever the number of staff."""
    enrolled_at = SecondFactorEvent.objects.filter(
        user=OuterRef("user"), kind=Kind.ENROLLED
    ).order_by("-at")
    return (
        StaffMembership.objects.filter(clinic__in=clinics, user__integration_token__isnull=True)
        .select_related("user", "clinic")
        .prefetch_related("roles")
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
        .order_by(
            F("deactivated_at").asc(nulls_first=True),
            "user__last_name",
            "user__first_name",
            "user__username",
        )
    )
