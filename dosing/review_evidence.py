"""What other apps add to the prescriber's weekly review summary, without dosing
importing them: an app above dosing registers a builder in its AppConfig.ready()
(monitoring adds the last tox screen and the methadone collections)."""

import datetime as dt

from core.hooks import Hooks

# builder(service_user=, since=, now=) returns the summary's entries it adds.
_builders = Hooks()
register = _builders.register


def evidence_for(*, service_user, since: dt.datetime, now: dt.datetime) -> dict:
    evidence: dict = {}
    for builder in _builders:
        evidence.update(builder(service_user=service_user, since=since, now=now))
    return evidence
