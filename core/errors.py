"""The one domain error type, shared by every app.

Services raise these; views turn them into a message on the page and the API's
exception handler into a 400 or 409, so a browser form and an API request that
break the same rule get the same refusal.
"""

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from django.db.models import TextChoices

_Choice = TypeVar("_Choice", bound="TextChoices")


class RuleViolation(Exception):
    """A clinical or product rule refuses the action. The message says what to fix."""

    status_code = 400

    def __init__(self, message: str, *, code: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class Conflict(RuleViolation):
    """The record changed under the caller: for example, the dose was already recorded."""

    status_code = 409


def require_reason(
    reason: str | None,
    message: str = "Give a reason: it is kept in the audit trail.",
    *,
    field: str = "reason",
) -> str:
    """Every change to a clinical record says why; an empty or blank reason is refused,
    beside the field the reason is typed in."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(message, code="reason_required", field=field)
    return reason


def day_not_in_future(
    day: dt.date, clinic: Any, now: dt.datetime, *, field: str, what: str
) -> dt.date:
    """A day staff record something happened on (a referral, a signed agreement, a
    sample, a suspension): never after today in the clinic's own time zone, or a
    refusal beside the field that says which day today is there. Returns today."""
    today: dt.date = clinic.clinic_day_of(now)
    if day > today:
        raise RuleViolation(
            f"The {what} ({day:%d %b %Y}) is in the future; today is {today:%d %b %Y}. "
            "Record it when it has happened.",
            code="date_in_future",
            field=field,
        )
    return today


def choice(choices: type[_Choice], value: Any, *, field: str, what: str | None = None) -> _Choice:
    """``value`` as a member of a TextChoices class, or a refusal naming the field and
    the values it accepts, never a ValueError (a form sent with nothing chosen, or an
    API caller's typo)."""
    try:
        return choices(value)
    except (ValueError, TypeError) as error:
        what = what or field.replace("_", " ")
        allowed = ", ".join(str(v) for v in choices.values)
        given = "nothing was chosen" if value in (None, "") else f"{str(value)[:40]!r} is not one"
        raise RuleViolation(
            f"Choose the {what}: {given}; it is one of {allowed}.",
            code="choice_invalid",
            field=field,
        ) from error


def whole_number(
    value: object, *, field: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """A whole number typed or sent, within bounds, or a refusal naming the field: never
    a ValueError, nor a number too large for the database (OverflowError, DataError)."""
    try:
        number = int(str(value).strip())
    except (ValueError, TypeError) as error:
        raise RuleViolation(
            f"{field.replace('_', ' ').capitalize()} must be a whole number.",
            code="number_invalid",
            field=field,
        ) from error
    low = minimum if minimum is not None else -(2**31)
    high = maximum if maximum is not None else 2**31 - 1
    if not low <= number <= high:
        raise RuleViolation(
            f"{field.replace('_', ' ').capitalize()} must be between {low} and {high}.",
            code="number_out_of_range",
            field=field,
        )
    return number


# The years a clinic record, or a question about records, can fall in. Far beyond them
# date arithmetic and the clinic's time zone overflow (OverflowError), and no clinic
# record is there: dashboards, the timeline and corrections refuse dates outside.
RECORD_YEARS = range(2000, 2100)


def in_record_years(when: dt.date) -> bool:
    """A date or datetime within RECORD_YEARS."""
    return when.year in RECORD_YEARS
