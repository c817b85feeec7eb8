"""Exit plan and closure pages, and the API's cancel action, against the cast."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils.html import escape

from dosing.exit_plans import reducing_plan_create
from dosing.models import Prescription, PrescriptionCancellation, ReducingPlan, ServiceClosure
from dosing.prescribing import prescription_issue
from eligibility.models import Status
from tests.dosing.conftest import NOW
from tests.factories import TRANSFER, make_service_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def person(cast):
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "100", "PM": "100"},
        **TRANSFER,
        reason="Transfer",
    )
    return person


@pytest.fixture
def plan(cast, person):
    return reducing_plan_create(
        service_user=person,
        created_by=cast.prescriber,
        weekly_reduction_percent="25",
        starts_at=NOW + dt.timedelta(weeks=1),
        reason="Exit",
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [("prescriber", 302), ("nurse", 403), ("hca", 403), ("manager", 403), ("nurse_b", 404)],
)
def test_only_a_prescriber_starts_an_exit_plan(cast, person, who, expected):
    response = cast.client(who).post(
        reverse("exit-plan-new", args=[person.pk]),
        {"weekly_reduction_percent": "25", "starts_at": "2026-12-03T09:00", "reason": "Rehab"},
    )
    assert response.status_code == expected
    assert ReducingPlan.objects.count() == (1 if expected == 302 else 0)
    if expected == 302:
        page = cast.client("nurse").get(reverse("prescription-list", args=[person.pk]))
        assert "-25.00% a week from 3 Dec 2026 to zero" in page.content.decode()
        assert Prescription.objects.filter(plan__isnull=False).count() == 3


def test_the_exit_plan_form_shows_a_refusal(cast, person):
    response = cast.client("prescriber").post(
        reverse("exit-plan-new", args=[person.pk]),
        {
            "weekly_reduction_percent": "10",
            "starts_at": "2026-12-03T09:00",
            "switch_at": "2026-12-01T09:00",
            "reason": "x",
        },
    )
    assert "The switch date must come after the plan starts." in response.content.decode()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("prescriber", True), ("nurse", False), ("manager", False), ("nurse_b", False)],
)
def test_only_a_prescriber_cancels_a_future_version(cast, plan, who, expected):
    version = plan.versions.order_by("version").last()
    response = cast.client(who).post(
        reverse("prescription-cancel", args=[version.pk]), {"reason": "Holding"}
    )
    assert response.status_code == (302 if expected else 404 if who == "nurse_b" else 403)
    assert PrescriptionCancellation.objects.filter(prescription=version).exists() == expected


def test_cancelling_a_version_in_effect_shows_why_not(cast, person):
    current = Prescription.objects.get(plan__isnull=True)
    response = cast.client("prescriber").post(
        reverse("prescription-cancel", args=[current.pk]), {"reason": "x"}, follow=True
    )
    assert "cannot be cancelled. Issue a new version instead." in response.content.decode()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("prescriber", 200), ("nurse", 403), ("manager", 403), ("nurse_b", 403), (None, 403)],
)
def test_the_api_cancels_a_future_version_for_prescribers(cast, plan, who, expected):
    version = plan.versions.order_by("version").last()
    response = cast.client(who).post(
        f"/api/v1/prescriptions/{version.pk}/cancel/",
        {"reason": "Holding"},
        content_type="application/json",
    )
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["cancelled"] is True
        assert response.json()["plan"] == plan.pk


def test_stopping_and_starting_plans_through_the_page(cast, person, plan):
    client = cast.client("prescriber")
    client.post(reverse("exit-plan-cancel", args=[plan.pk]), {"reason": "Staying"})
    plan.refresh_from_db()
    assert plan.state == ReducingPlan.State.CANCELLED
    assert PrescriptionCancellation.objects.count() == 3


@pytest.mark.parametrize(
    ("who", "expected"),
    [("manager", 302), ("nurse", 403), ("hca", 403), ("prescriber", 403), ("nurse_b", 403)],
)
def test_only_a_manager_records_a_closure(cast, person, who, expected):
    response = cast.client(who).post(
        reverse("service-closure"), {"closes_on": "2027-03-31", "reason": "Funding ends"}
    )
    assert response.status_code == expected
    assert ServiceClosure.objects.exists() == (expected == 302)


def test_a_short_notice_closure_warns_and_drafts_plans(cast, person):
    client = cast.client("manager")
    page = client.post(
        reverse("service-closure"),
        {"closes_on": "2027-03-31", "reason": "Funding ends"},
        follow=True,
    )
    text = page.content.decode()
    assert "1 draft exit plan awaits a prescriber" in text
    assert "less than six months" in text
    assert f"by {escape(cast.manager.get_full_name())}: Funding ends" in text
    assert cast.manager.username not in text
    draft = ReducingPlan.objects.get()
    prescriber = cast.client("prescriber")
    prescriber.post(reverse("exit-plan-activate", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.state == ReducingPlan.State.ACTIVE
    assert draft.versions.exists()


def test_a_manager_cannot_start_a_draft_plan(cast, person):
    cast.client("manager").post(
        reverse("service-closure"), {"closes_on": "2027-09-30", "reason": "Funding"}
    )
    draft = ReducingPlan.objects.get()
    response = cast.client("manager").post(reverse("exit-plan-activate", args=[draft.pk]))
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.state == ReducingPlan.State.DRAFT


def test_another_clinics_prescriber_gets_404_when_cancelling(cast, plan):
    from core.roles import Role
    from tests.factories import make_staff

    prescriber_b = make_staff(cast.clinic_b, Role.PRESCRIBER)
    client = cast.client(None)
    client.force_login(prescriber_b)
    version = plan.versions.order_by("version").last()
    api = client.post(
        f"/api/v1/prescriptions/{version.pk}/cancel/",
        {"reason": "x"},
        content_type="application/json",
    )
    page = client.post(reverse("prescription-cancel", args=[version.pk]), {"reason": "x"})
    assert (api.status_code, page.status_code) == (404, 404)
    assert not PrescriptionCancellation.objects.exists()


def test_a_refused_reason_is_shown_again_as_it_was_typed(cast, plan):
    version = plan.versions.order_by("version").last()
    page = cast.client("prescriber").post(
        reverse("prescription-cancel", args=[version.pk]), {"reason": "Mistyped\x00 dose"}
    )
    assert page.status_code == 400
    body = page.content.decode()
    assert 'aria-describedby="refused"' in body
    assert 'value="Mistyped' in body and "dose" in body
    assert not PrescriptionCancellation.objects.exists()


@pytest.mark.parametrize("page", ["exit-plan-new", "prescription-new", "methadone-new"])
def test_a_prescribing_page_for_someone_not_in_treatment_says_so_and_offers_no_form(cast, page):
    """And so do the prescription and methadone pages: whatever was typed, the service
    would refuse them."""
    from eligibility.models import Status
    from tests.factories import make_service_user

    person = make_service_user(cast.clinic_a, Status.EXITED, by=cast.prescriber)
    url = reverse(page, args=[person.pk])
    page = cast.client("prescriber").get(url)
    assert page.status_code == 200 and "is not in treatment" in page.content.decode()
    assert "<form" not in page.content.decode().split("<main", 1)[1]
    refused = cast.client("prescriber").post(url, {"weekly_reduction_percent": "10"})
    assert refused.status_code == 400 and "is not in treatment" in refused.content.decode()
