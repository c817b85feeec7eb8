import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from eligibility.models import validate_nhs_number
from eligibility.services import service_user_register
from tests.factories import make_clinic


def _register(clinic, nhs_number, date_of_birth=dt.date(1980, 1, 1)):
    return service_user_register(
        clinic=clinic,
        registered_by=None,
        nhs_number=nhs_number,
        given_name="Sam",
        family_name="Test",
        date_of_birth=date_of_birth,
    )


@pytest.mark.parametrize("number", ["9434765919", "943 476 5919", "943-476-5919", "9999999999"])
def test_valid_nhs_numbers_are_accepted(number):
    validate_nhs_number(number)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("9434765918", "nhs_number_checksum"),  # last digit mistyped
        ("9434765910", "nhs_number_checksum"),
        ("9434765030", "nhs_number_checksum"),  # check digit would be 10: never issued
        ("943476591", "nhs_number_format"),  # nine digits
        ("94347659190", "nhs_number_format"),
        ("94347659AB", "nhs_number_format"),
        ("", "nhs_number_format"),
    ],
)
def test_invalid_nhs_numbers_are_refused_with_a_reason(number, code):
    with pytest.raises(ValidationError) as refused:
        validate_nhs_number(number)
    assert refused.value.code == code


@pytest.mark.django_db
def test_registering_with_a_bad_check_digit_names_the_field():
    clinic = make_clinic()
    with pytest.raises(ValidationError) as refused:
        _register(clinic, "943 476 5918", dt.date(1980, 1, 1))
    assert "check digit" in refused.value.message_dict["nhs_number"][0]


@pytest.mark.django_db
def test_nhs_number_is_stored_as_digits_and_unique_within_a_clinic():
    """Within a clinic; across clinics a referral is recorded and alerts both clinics
    (tests/eligibility/test_duplicate_registration.py)."""
    first, second = make_clinic(), make_clinic()
    person = _register(first, "943 476 5919")
    assert person.nhs_number == "9434765919"
    with pytest.raises(ValidationError) as refused:
        _register(first, "943-476-5919", dt.date(1981, 1, 1))
    assert "already registered at this clinic" in refused.value.message_dict["nhs_number"][0]
    assert _register(second, "943-476-5919", dt.date(1981, 1, 1)).clinic == second


@pytest.mark.django_db
def test_a_date_of_birth_in_the_future_is_refused():
    clinic = make_clinic()
    with pytest.raises(ValidationError) as refused:
        _register(clinic, "9434765919", dt.date(2999, 1, 1))
    assert "future" in refused.value.message_dict["date_of_birth"][0]
