"""Sections that other apps add to the service user's page, without this app
importing them: each app registers a panel in its AppConfig.ready()."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.hooks import Hooks

if TYPE_CHECKING:
    from django.http import HttpRequest

    from .models import ServiceUser


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any]


# builder(request, service_user) returns a Panel, or None to show nothing.
_builders = Hooks()
register = _builders.register


def panels_for(request: "HttpRequest", service_user: "ServiceUser") -> list[Panel]:
    return [panel for builder in _builders if (panel := builder(request, service_user))]
