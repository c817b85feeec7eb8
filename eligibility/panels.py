"""Sections that other apps add to the service user's page, without this app
importing them: each app registers a panel in its AppConfig.ready()."""

from dataclasses import dataclass

from core.hooks import Hooks


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict


# builder(request, service_user) returns a Panel, or None to show nothing.
_builders = Hooks()
register = _builders.register


def panels_for(request, service_user) -> list[Panel]:
    return [panel for builder in _builders if (panel := builder(request, service_user))]
