"""Milligrams as staff type them and as the records show them."""

from decimal import Decimal, InvalidOperation

from core.errors import RuleViolation

# The most a dose column holds (7 digits, 2 of them decimals): anything larger is a
# typing slip, and the database would refuse it (numeric overflow) after the rules.
MAX_MG = Decimal("99999.99")


# The naloxone column holds at most 999.99 mg; a real dose is well under 10 mg.
MAX_NALOXONE_MG = Decimal("999.99")


def parse_mg(
    value: object, *, field: str, allow_zero: bool = False, maximum: Decimal = MAX_MG
) -> Decimal:
    """Milligrams as typed: a finite number with at most two decimal places, more
    than 0 (or, with allow_zero, 0 or more, as for a stock count), and at most
    ``maximum``, so that the column holds it."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as error:
        raise RuleViolation(
            f"{value!r} is not a number of milligrams.", code="dose_not_a_number", field=field
        ) from error
    if not amount.is_finite():
        raise RuleViolation(
            "A dose must be a finite number of milligrams.", code="dose_not_a_number", field=field
        )
    if allow_zero and amount < 0:
        raise RuleViolation(
            f"The amount must be 0 mg or more; {amount} mg was given.",
            code="amount_negative",
            field=field,
        )
    if not allow_zero and amount <= 0:
        raise RuleViolation(
            f"A dose must be more than 0 mg; {amount} mg was given.",
            code="dose_not_positive",
            field=field,
        )
    # Before rounding: 1e308 cannot be rounded to 0.01 (InvalidOperation).
    if amount > maximum:
        raise RuleViolation(
            f"{amount} mg is more than can be recorded here: at most {format_mg(maximum)} mg.",
            code="amount_too_large",
            field=field,
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise RuleViolation(
            f"{amount} mg has more than two decimal places.", code="dose_precision", field=field
        )
    return amount


def format_mg(amount: Decimal) -> str:
    return f"{amount.normalize():f}"
