"""What other apps add to the prescriber's weekly review summary, without dosing
importing them: an app above dosing registers a builder in its AppConfig.ready()
(monitoring adds the last tox screen and the methadone collections)."""

import datetime as dt
from typing import TYPE_CHECKING, Any

from core.hooks import Hooks

if TYPE_CHECKING:
    from eligibility.models import ServiceUser

# builder(service_user=, since=, now=) returns the summary's entries it adds.
_builders = Hooks()
register = _builders.register


def evidence_for(
    *, service_user: "ServiceUser", since: dt.datetime, now: dt.datetime
) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    for builder in _builders:
        evidence.update(builder(service_user=service_user, since=since, now=now))
    return evidence
