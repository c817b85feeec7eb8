"""Issuing and revoking integration tokens, and finding the token for a key."""

import datetime as dt
import hashlib
import logging
import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from core.errors import Conflict, RuleViolation
from core.roles import Role

from .models import Clinic, IntegrationToken, StaffMembership, TokenRefusal

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger("hat_clinic.security")

# Roles a token may hold: systems report data; they do not dose or prescribe.
TOKEN_ROLES = (Role.PHARMACY,)
# last_used_at is written at most this often, not on every request.
USE_RECORDED_EVERY = dt.timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issue(
    *,
    clinic: Clinic,
    name: str,
    role: str,
    created_by: "User",
    # A dosing.Pharmacy: dosing is a layer above (docs/architecture.md).
    pharmacy: Any = None,
    now: dt.datetime | None = None,
) -> tuple[IntegrationToken, str]:
    """Make a token; returns it and its key, which is not stored and is shown once.
    A pharmacy integration's token names its pharmacy, one of the clinic's."""
    now = now or timezone.now()
    name = (name or "").strip()
    if not name:
        raise RuleViolation(
            "Name the token after who will use it.", code="name_required", field="name"
        )
    if role not in TOKEN_ROLES:
        allowed = ", ".join(r.label for r in TOKEN_ROLES)
        raise RuleViolation(
            f"A token may hold only these roles: {allowed}.", code="token_role", field="role"
        )
    if role == Role.PHARMACY and (pharmacy is None or pharmacy.clinic_id != clinic.pk):
        raise RuleViolation(
            "Choose the clinic's pharmacy whose system will use the token: it reports only "
            "for the people whose methadone that pharmacy dispenses.",
            code="pharmacy_required",
            field="pharmacy",
        )
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        account = get_user_model()(
            username=f"token-{clinic.pk}-{slugify(name)[:40]}-{secrets.token_hex(3)}",
            first_name=name[:150],
        )
        account.set_unusable_password()  # a token's account cannot log in to the browser
        account.save()
        membership = StaffMembership.objects.create(user=account, clinic=clinic)
        membership.roles.add(Group.objects.get(name=role))
        token = IntegrationToken.objects.create(
            clinic=clinic,
            name=name,
            role=role,
            pharmacy=pharmacy,
            account=account,
            key_hash=_hash(key),
            key_prefix=key[:8],
            created_by=created_by,
            created_at=now,
        )
    return token, key


def token_revoke(
    *, token: IntegrationToken, revoked_by: "User", now: dt.datetime | None = None
) -> None:
    now = now or timezone.now()
    with transaction.atomic():
        locked = IntegrationToken.objects.select_for_update().get(pk=token.pk)
        if not locked.is_active:
            raise Conflict("This token was already revoked.", code="token_revoked")
        locked.revoked_at, locked.revoked_by = now, revoked_by
        locked.save(update_fields=["revoked_at", "revoked_by"])
        type(locked.account).objects.filter(pk=locked.account_id).update(is_active=False)
    token.refresh_from_db()


class TooManyRefusals(Exception):
    """The address has sent too many unknown or revoked keys within the window."""

    def __init__(self, wait: dt.timedelta):
        super().__init__("Too many unknown token keys: wait.")
        self.wait = wait


def token_authenticate(
    key: str, *, address: str | None, now: dt.datetime | None = None
) -> IntegrationToken | None:
    """The active token for a key sent from an address, or None, the refusal then
    recorded.

    A valid key is always accepted: other keys failing, from its address or with its
    first characters, never lock out the pharmacy that holds it (issue 16.3). Unknown
    or revoked keys are limited per address and per key prefix: past TOKEN_FAILURE_LIMIT
    within the window, each is refused with TooManyRefusals (429) without being stored,
    so a flood costs one lookup each. A key cannot be guessed anyway: it is 256 random
    bits. The log names the address and the key's first characters, never a person."""
    now = now or timezone.now()
    token = token_for_key(key, now=now)
    if token is not None:
        return token
    since = now - settings.TOKEN_FAILURE_WINDOW
    prefix = key[:8]
    for refusals, what in (
        (TokenRefusal.objects.filter(ip_address=address, refused_at__gte=since), address),
        (TokenRefusal.objects.filter(key_prefix=prefix, refused_at__gte=since), f"{prefix}…"),
    ):
        if refusals.count() >= settings.TOKEN_FAILURE_LIMIT:
            logger.warning("Refused a token from %s: too many unknown keys from %s", address, what)
            oldest = refusals.order_by("refused_at").values_list("refused_at", flat=True)[0]
            raise TooManyRefusals(oldest + settings.TOKEN_FAILURE_WINDOW - now)
    TokenRefusal.objects.create(ip_address=address, key_prefix=prefix, refused_at=now)
    logger.warning("Refused an unknown or revoked token %s… from %s", prefix, address)
    return None


def token_for_key(key: str, *, now: dt.datetime | None = None) -> IntegrationToken | None:
    """The active token with this key, or None. Notes when it was used."""
    now = now or timezone.now()
    token = (
        IntegrationToken.objects.select_related("account")
        .filter(key_hash=_hash(key), revoked_at__isnull=True, account__is_active=True)
        .first()
    )
    if token is not None and (
        token.last_used_at is None or token.last_used_at < now - USE_RECORDED_EVERY
    ):
        IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
