"""Recording a breath alcohol reading, at a pre-dose check or apart from a dose."""

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.utils import timezone

from core.audit import audited
from core.errors import RuleViolation
from eligibility.models import ServiceUser

from .models import BreathTest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .models import DoseSession

MAX_BREATH_READING = Decimal("500")


def parse_breath(value: object, *, field: str = "reading_mcg_per_100ml") -> Decimal:
    try:
        reading = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise RuleViolation(
            f"{value!r} is not a breath reading: give µg/100 ml, e.g. 12.5.",
            code="breath_not_a_number",
            field=field,
        ) from error
    if not reading.is_finite() or not (0 <= reading <= MAX_BREATH_READING):
        raise RuleViolation(
            f"A breath reading is between 0 and {MAX_BREATH_READING} µg/100 ml.",
            code="breath_out_of_range",
            field=field,
        )
    if reading != reading.quantize(Decimal("0.1")):
        raise RuleViolation(
            "Give the breath reading to one decimal place at most.",
            code="breath_precision",
            field=field,
        )
    return reading


def breath_test_record(
    *,
    service_user: ServiceUser,
    recorded_by: "User",
    reading: object,
    taken_at: dt.datetime | None = None,
    session: "DoseSession | None" = None,
    now: dt.datetime | None = None,
) -> BreathTest:
    """Record a breath alcohol reading; one taken at a pre-dose check names its session."""
    now = now or timezone.now()
    taken_at = taken_at or now
    reading = parse_breath(reading)
    if taken_at > now + dt.timedelta(minutes=1):
        raise RuleViolation(
            "The time taken is in the future.", code="time_in_future", field="taken_at"
        )
    clinic = service_user.clinic
    test = BreathTest(
        service_user=service_user,
        clinic=clinic,
        session=session,
        taken_at=taken_at,
        clinic_day=clinic.clinic_day_of(taken_at),
        reading_mcg_per_100ml=reading,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    audited(test, by=recorded_by)
    test.save()
    return test
