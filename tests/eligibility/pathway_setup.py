"""Helpers for the pathway tests: a referral, a full assessment, a decision."""

import datetime as dt
from itertools import count

from eligibility.models import Criterion
from eligibility.pathway import eligibility_assess, referral_decide, referral_record
from eligibility.synthetic import synthetic_nhs_numbers

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
_numbers = synthetic_nhs_numbers(start=700_000)
_serial = count(1)


def refer(cast, clinic=None, now=NOW, **fields):
    clinic = clinic or cast.clinic_a
    return referral_record(
        clinic=clinic,
        recorded_by=cast.hca,
        referred_by="Dr Shah, Riverside GP practice",
        referral_date=now.date(),
        substance_use_history="Injecting heroin daily for 12 years.",
        treatment_history="Oral methadone twice; residential rehab once.",
        person={
            "nhs_number": next(_numbers),
            "given_name": "Alex",
            "family_name": f"Referred {next(_serial)}",
            "date_of_birth": dt.date(1980, 5, 1),
        },
        now=now,
        **fields,
    )


def all_met(**overrides):
    answers = {c.value: (True, "Seen in the records") for c in Criterion}
    answers.update(overrides)
    return answers


def assess(cast, referral, now=NOW, **overrides):
    return eligibility_assess(
        referral=referral, assessed_by=cast.nurse, answers=all_met(**overrides), now=now
    )


def accept(cast, referral, now=NOW, priority=2, reason="Meets the criteria", **kwargs):
    return referral_decide(
        referral=referral,
        prescriber=cast.prescriber,
        decision="accepted",
        reason=reason,
        priority=priority,
        now=now,
        **kwargs,
    )


def accepted(cast, clinic=None, now=NOW, priority=2):
    referral = refer(cast, clinic=clinic, now=now)
    assess(cast, referral, now=now)
    return accept(cast, referral, now=now, priority=priority)
