"""What a read shows is what the rules say now, whenever a scheduled scan last ran
(docs/domain.md, "Missed doses and re-titration").

Before a list or a page shows service users' statuses, whatever settles them from the
clock runs first for the reader's clinics. The dosing app registers the missed-dose
scan's settle (dosing.apps); eligibility knows nothing of sessions.
"""

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from core.hooks import Hooks

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from rest_framework.request import Request
    from rest_framework.response import Response

_SETTLERS = Hooks()
_PERSON_SETTLERS = Hooks()


def register(settler: Callable[..., Any], *, for_one: Callable[..., Any] | None = None) -> None:
    """``settler(user, now=...)`` settles what the member of staff may read;
    ``for_one(service_user_id, now=...)`` settles one person before an action on them."""
    _SETTLERS.register(settler)
    if for_one is not None:
        _PERSON_SETTLERS.register(for_one)


def settle_service_user(service_user_id: int, *, now: dt.datetime | None = None) -> None:
    """Before an action on a service user that eligibility decides (titration complete):
    their closed windows and lapses first, as every dosing action does."""
    now = now or timezone.now()
    for settler in _PERSON_SETTLERS:
        settler(service_user_id, now=now)


def settle_for_staff(user: "User | AnonymousUser", *, now: dt.datetime | None = None) -> None:
    if not user.is_authenticated:
        return
    now = now or timezone.now()
    for settler in _SETTLERS:
        settler(user, now=now)


class SettledReads:
    """For an API viewset: list and retrieve settle the caller's clinics first."""

    def list(self, request: "Request", *args: Any, **kwargs: Any) -> "Response":
        settle_for_staff(request.user)
        return super().list(request, *args, **kwargs)  # type: ignore[misc, no-any-return]

    def retrieve(self, request: "Request", *args: Any, **kwargs: Any) -> "Response":
        settle_for_staff(request.user)
        return super().retrieve(request, *args, **kwargs)  # type: ignore[misc, no-any-return]
