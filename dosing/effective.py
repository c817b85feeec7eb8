"""A dose session's records as they now read: each original with its dated amendments
applied in order. The originals are never changed (Misuse of Drugs Regulations 2001,
reg. 20), so every reader that needs the corrected value comes here."""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from .mg import format_mg
from .models import Administration, Amendment, Observation, Route, Site

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def effective_values(
    original: object, amendments: Iterable[Amendment], fields: Iterable[str]
) -> dict[str, str]:
    """The record as it now reads: the original, with each amendment applied in order."""
    values = {name: _text(getattr(original, name)) for name in fields}
    for amendment in amendments:
        for name, change in amendment.changes.items():
            values[name] = change["to"]
    return values


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_mg(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


INJECTION_FIELDS = ("drawn_mg", "injected_mg", "route", "site", "injected_at", "risk_discussion")


class Injection:
    """One administration as it now reads, typed: what the rules and the register
    compare against."""

    def __init__(
        self,
        administration: Administration,
        amendments: Iterable[Amendment] | None = None,
        *,
        values: dict[str, str] | None = None,
    ) -> None:
        """As the amendments given (or prefetched) make it read; or, with ``values``,
        as a correction being checked would make it read."""
        if values is None:
            amendments = administration.amendments.all() if amendments is None else amendments
            values = effective_values(administration, amendments, INJECTION_FIELDS)
            self.corrected = bool(list(amendments))
        else:
            self.corrected = True
        self.administration = administration
        self.sequence = administration.sequence
        self.drawn_mg = Decimal(values["drawn_mg"])
        self.injected_mg = Decimal(values["injected_mg"])
        self.route = values["route"]
        self.site = values["site"]
        self.injected_at = dt.datetime.fromisoformat(values["injected_at"])
        self.risk_discussion = values["risk_discussion"]

    @property
    def waste_mg(self) -> Decimal:
        return self.drawn_mg - self.injected_mg

    @property
    def route_label(self) -> str:
        return Route(self.route).label

    @property
    def site_label(self) -> str:
        return Site(self.site).label


def with_amendments(administrations: QuerySet[Administration]) -> QuerySet[Administration]:
    """Administrations with their amendments in order, in one more query."""
    return administrations.prefetch_related(
        Prefetch("amendments", queryset=Amendment.objects.order_by("amended_at", "pk"))
    )


def injections(administrations: QuerySet[Administration]) -> list[Injection]:
    """These administrations as they now read, in two queries."""
    return [Injection(a) for a in with_amendments(administrations)]


OBSERVATION_FIELDS = (
    "outcome",
    "details",
    "naloxone_mg",
    "naloxone_at",
    "over_sedation",
    "overdose",
    "ambulance_called",
)


class ObservationAsRead:
    """A post-dose observation as it now reads, typed, from its effective values."""

    def __init__(
        self,
        values: dict[str, str],
        *,
        observed_by: "User | None" = None,
        observed_at: dt.datetime | None = None,
    ) -> None:
        self.outcome = values["outcome"]
        self.details = values["details"]
        self.over_sedation = values["over_sedation"] == "True"
        self.overdose = values["overdose"] == "True"
        self.naloxone_mg = Decimal(values["naloxone_mg"]) if values["naloxone_mg"] else None
        self.naloxone_at = (
            dt.datetime.fromisoformat(values["naloxone_at"]) if values["naloxone_at"] else None
        )
        self.ambulance_called = values["ambulance_called"] == "True"
        self.observed_by = observed_by
        self.observed_at = observed_at

    @classmethod
    def of(cls, observation: Observation, amendments: Iterable[Amendment]) -> "ObservationAsRead":
        """``amendments``: the session's amendments of its observation, in order."""
        return cls(
            effective_values(observation, amendments, OBSERVATION_FIELDS),
            observed_by=observation.observed_by,
            observed_at=observation.observed_at,
        )

    @property
    def adverse(self) -> bool:
        return self.outcome == "adverse_event"

    @property
    def outcome_label(self) -> str:
        return Observation.Outcome(self.outcome).label

    @property
    def signs(self) -> str:
        return adverse_signs(self)


def adverse_signs(observation: "Observation | ObservationAsRead") -> str:
    """An adverse event's signs in words, e.g. "overdose, naloxone 0.4 mg at 15:20,
    ambulance called"; ``observation`` is an Observation or its corrected values."""
    signs = []
    if observation.over_sedation:
        signs.append("over-sedation")
    if observation.overdose:
        signs.append("overdose")
    if observation.naloxone_mg:
        at = (
            f" at {timezone.localtime(observation.naloxone_at):%H:%M}"
            if observation.naloxone_at
            else ""
        )
        signs.append(f"naloxone {format_mg(Decimal(observation.naloxone_mg))} mg{at}")
    if observation.ambulance_called:
        signs.append("ambulance called")
    return ", ".join(signs)
