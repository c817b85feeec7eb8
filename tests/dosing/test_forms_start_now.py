"""With the real, ticking clock: a form left without a start time starts now.

(The view once passed its own "now", a moment earlier than the service's, and
every such prescription was refused as starting in the past.)
"""

import pytest
from django.urls import reverse

from dosing.models import MethadonePrescription, Prescription
from dosing.prescribing import pharmacy_add
from eligibility.models import Status
from tests.factories import make_service_user

pytestmark = pytest.mark.django_db


def test_an_empty_start_issues_the_prescription_from_now(cast):
    person = make_service_user(cast.clinic_a, Status.TITRATION, by=cast.prescriber)
    response = cast.client("prescriber").post(
        reverse("prescription-new", args=[person.pk]),
        {"dose_AM": "10", "route_iv": "on", "reason": "Induction"},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert Prescription.objects.get().issued_at == Prescription.objects.get().valid_from


def test_an_empty_start_issues_methadone_from_now(cast):
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber)
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name="Corner Pharmacy", address="3 Corner")
    response = cast.client("prescriber").post(
        reverse("methadone-new", args=[person.pk]),
        {"nightly_dose_mg": "30", "pharmacy": pharmacy.pk, "reason": "Cover"},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert MethadonePrescription.objects.count() == 1
