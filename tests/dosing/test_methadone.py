"""Overnight methadone: versioned like diamorphine, from one of the clinic's pharmacies."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from core.errors import RuleViolation
from dosing.models import MethadonePrescription
from dosing.prescribing import methadone_prescribe, pharmacy_add
from dosing.selectors import methadone_in_force
from eligibility.models import Status
from tests.dosing.conftest import NOW
from tests.factories import make_service_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def pharmacy(cast):
    return pharmacy_add(clinic=cast.clinic_a, name="High Street Pharmacy", address="1 High St")


@pytest.fixture
def person(cast):
    return make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber)


def prescribe(person, prescriber, pharmacy, dose="30", **kwargs):
    return methadone_prescribe(
        service_user=person,
        prescriber=prescriber,
        pharmacy=pharmacy,
        nightly_dose_mg=dose,
        reason="Overnight cover",
        **kwargs,
    )


def test_versions_supersede_from_their_start(cast, person, pharmacy):
    first = prescribe(person, cast.prescriber, pharmacy, "30")
    change = NOW + dt.timedelta(days=3)
    second = prescribe(person, cast.prescriber, pharmacy, "40", valid_from=change)
    assert methadone_in_force(service_user=person, at=change - dt.timedelta(seconds=1)) == first
    assert methadone_in_force(service_user=person, at=change) == second
    assert (first.version, second.version) == (1, 2)
    first.refresh_from_db()
    assert first.nightly_dose_mg == Decimal("30")


@pytest.mark.parametrize(
    ("dose", "code"),
    [("0", "dose_not_positive"), ("-1", "dose_not_positive"), ("x", "dose_not_a_number")],
)
def test_a_bad_dose_is_refused(cast, person, pharmacy, dose, code):
    with pytest.raises(RuleViolation) as refused:
        prescribe(person, cast.prescriber, pharmacy, dose)
    assert refused.value.code == code
    assert not MethadonePrescription.objects.exists()


def test_valid_to_must_follow_valid_from(cast, person, pharmacy):
    with pytest.raises(RuleViolation) as refused:
        prescribe(person, cast.prescriber, pharmacy, valid_to=NOW)
    assert refused.value.code == "valid_to_not_after_valid_from"


def test_another_clinics_pharmacy_is_refused(cast, person):
    elsewhere = pharmacy_add(clinic=cast.clinic_b, name="Elsewhere", address="2 Far Rd")
    with pytest.raises(RuleViolation) as refused:
        prescribe(person, cast.prescriber, elsewhere)
    assert refused.value.code == "pharmacy_elsewhere"


def test_people_not_in_treatment_get_no_methadone(cast, pharmacy):
    waiting = make_service_user(cast.clinic_a, Status.WAITING)
    with pytest.raises(RuleViolation) as refused:
        prescribe(waiting, cast.prescriber, pharmacy)
    assert refused.value.code == "not_in_treatment"


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("prescriber", 201),
        ("nurse", 403),
        ("hca", 403),
        ("manager", 403),
        ("nurse_b", 403),
        (None, 403),
    ],
)
def test_only_prescribers_prescribe_methadone_through_the_api(
    cast, person, pharmacy, who, expected
):
    response = cast.client(who).post(
        "/api/v1/methadone-prescriptions/",
        {
            "service_user": person.pk,
            "nightly_dose_mg": "30",
            "pharmacy": pharmacy.pk,
            "reason": "Cover",
        },
        content_type="application/json",
    )
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["nightly_dose_mg"] == "30.00"
        assert response.json()["pharmacy_name"] == "High Street Pharmacy"


@pytest.mark.parametrize(("who", "expected"), [("nurse", 200), ("nurse_b", 404)])
def test_methadone_is_read_by_its_clinic_only(cast, person, pharmacy, who, expected):
    version = prescribe(person, cast.prescriber, pharmacy)
    response = cast.client(who).get(f"/api/v1/methadone-prescriptions/{version.pk}/")
    assert response.status_code == expected


def test_the_methadone_form_issues_a_version_and_the_page_shows_it(cast, person, pharmacy):
    client = cast.client("prescriber")
    response = client.post(
        reverse("methadone-new", args=[person.pk]),
        {"nightly_dose_mg": "35", "pharmacy": pharmacy.pk, "reason": "Cover"},
    )
    assert response.status_code == 302
    page = cast.client("nurse").get(reverse("prescription-list", args=[person.pk]))
    assert "35.00 mg nightly, collected daily from High Street Pharmacy" in page.content.decode()


def test_the_methadone_form_shows_a_refusal(cast, person, pharmacy):
    response = cast.client("prescriber").post(
        reverse("methadone-new", args=[person.pk]),
        {"nightly_dose_mg": "0", "pharmacy": pharmacy.pk, "reason": "Cover"},
    )
    assert "A dose must be more than 0 mg" in response.content.decode()


@pytest.mark.parametrize(("who", "expected"), [("nurse", 403), ("manager", 403), ("nurse_b", 404)])
def test_other_roles_cannot_open_the_methadone_form(cast, person, who, expected):
    assert cast.client(who).get(reverse("methadone-new", args=[person.pk])).status_code == expected
