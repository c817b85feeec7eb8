"""Sections that other apps add to the service user's page, without this app
importing them: each app registers a panel in its AppConfig.ready()."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict


PanelBuilder = Callable[..., Panel | None]
_builders: list[PanelBuilder] = []


def register(builder: PanelBuilder) -> PanelBuilder:
    """builder(request, service_user) returns a Panel, or None to show nothing."""
    if builder not in _builders:
        _builders.append(builder)
    return builder


def panels_for(request, service_user) -> list[Panel]:
    return [panel for builder in _builders if (panel := builder(request, service_user))]
