"""The prescription pages against the cast, and the form's refusals on the page."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from core.roles import Role
from dosing.models import Prescription
from dosing.prescribing import methadone_prescribe, pharmacy_add
from eligibility.models import Status
from tests.factories import make_service_user, make_staff
from tests.helpers import names_staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def starter(cast):
    return make_service_user(cast.clinic_a, Status.TITRATION, by=cast.prescriber)


def submit(client, person, **fields):
    form = {"dose_AM": "15", "dose_PM": "15", "route_iv": "on", "reason": "Induction"}
    form.update(fields)
    return client.post(reverse("prescription-new", args=[person.pk]), form)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("prescriber", 200), ("nurse", 403), ("hca", 403), ("manager", 403), ("nurse_b", 404)],
)
def test_only_a_prescriber_opens_the_form(cast, starter, who, expected):
    response = cast.client(who).get(reverse("prescription-new", args=[starter.pk]))
    assert response.status_code == expected


def test_an_anonymous_visitor_is_sent_to_log_in(cast, starter):
    response = cast.client(None).get(reverse("prescription-new", args=[starter.pk]))
    assert response.status_code == 302 and "/login/" in response.url


@pytest.mark.parametrize("who", ["nurse", "hca", "manager"])
def test_other_roles_cannot_post_the_form(cast, starter, who):
    assert submit(cast.client(who), starter).status_code == 403
    assert not Prescription.objects.exists()


def test_another_clinics_prescriber_gets_404(cast, starter):
    prescriber_b = make_staff(cast.clinic_b, Role.PRESCRIBER)
    client = cast.client(None)
    client.force_login(prescriber_b)
    assert submit(client, starter).status_code == 404


def test_a_prescriber_issues_the_first_version_through_the_form(cast, starter):
    response = submit(cast.client("prescriber"), starter, topup_max_mg="15")
    assert response.status_code == 302
    assert response.url == reverse("prescription-list", args=[starter.pk])
    prescription = Prescription.objects.get()
    assert prescription.prescriber == cast.prescriber
    assert prescription.topup_max_mg == 15
    page = cast.client("nurse").get(response.url).content.decode()
    assert "In force now · version 1" in page
    assert "Induction" in page


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"dose_AM": "15.01"}, "dose_AM", "at most 15 mg"),
        ({"dose_AM": "0"}, "dose_AM", "more than 0 mg"),
        ({"dose_AM": "-2"}, "dose_AM", "more than 0 mg"),
        (
            {"dose_AM": "500", "dose_PM": "500.01", "documented_transfer": "on"},
            "dose_AM",  # the day's doses together: shown beside the first
            "most allowed is 1000 mg",
        ),
        (
            {"max_daily_total_mg": "1000.01", "documented_transfer": "on"},
            "max_daily_total_mg",
            "most allowed is 1000 mg",
        ),
        (
            {"dose_AM": "60", "documented_transfer": "on", "transfer_service": "Leeds"},
            "transfer_last_dose_mg",
            "records its evidence: the last dose there (mg)",
        ),
        (
            {"valid_from": "2026-11-27T10:00", "valid_to": "2026-11-27T10:00"},
            "valid_to",
            "must end after it starts",
        ),
    ],
)
def test_the_form_shows_each_hard_stop_beside_its_field(cast, starter, fields, field, words):
    response = submit(cast.client("prescriber"), starter, **fields)
    assert response.status_code == 400  # a refusal is a 400, as on every page
    form = response.context["form"]
    errors = form.errors.get(field) or form.non_field_errors()
    assert any(words in error for error in errors), form.errors
    assert words in response.content.decode()
    assert not Prescription.objects.exists()


def test_the_form_refuses_a_titration_rise_above_50_percent(cast, starter):
    client = cast.client("prescriber")
    submit(client, starter)
    response = submit(client, starter, dose_AM="22.51", valid_from="2026-11-27T10:00")
    assert "most allowed is 22.5 mg" in " ".join(response.context["form"].errors["dose_AM"])
    response = submit(client, starter, dose_AM="22.5", valid_from="2026-11-27T10:00")
    assert response.status_code == 302
    assert Prescription.objects.count() == 2


def test_the_form_starts_from_the_dose_in_force(cast, starter):
    client = cast.client("prescriber")
    submit(client, starter, dose_AM="12", dose_PM="10")
    form = client.get(reverse("prescription-new", args=[starter.pk])).context["form"]
    assert form.initial["dose_AM"] == 12
    assert form.initial["dose_PM"] == 10


@pytest.mark.parametrize(
    ("who", "expected"),
    [("prescriber", 200), ("nurse", 200), ("hca", 200), ("manager", 200), ("nurse_b", 404)],
)
def test_the_versions_page_is_for_the_clinics_staff(cast, starter, who, expected):
    response = cast.client(who).get(reverse("prescription-list", args=[starter.pk]))
    assert response.status_code == expected
    if expected == 200:
        has_button = "New prescription version" in response.content.decode()
        assert has_button == (who == "prescriber")


def test_the_versions_page_names_the_prescriber_of_each_version(cast, starter):
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    methadone_prescribe(
        service_user=starter,
        prescriber=cast.prescriber,
        nightly_dose_mg="30",
        pharmacy=pharmacy,
        reason="Overnight cover",
    )
    submit(cast.client("prescriber"), starter)
    html = cast.client("nurse").get(reverse("prescription-list", args=[starter.pk]))
    html = html.content.decode()
    assert f"— {escape(cast.prescriber.get_full_name())}: Overnight cover" in html
    names_staff(html, cast.prescriber)


@pytest.mark.parametrize(
    ("who", "expected"),
    [("prescriber", 302), ("nurse", 403), ("hca", 403), ("manager", 403), ("nurse_b", 404)],
)
def test_only_a_prescriber_marks_titration_complete(cast, starter, who, expected):
    response = cast.client(who).post(
        reverse("titration-complete", args=[starter.pk]), {"reason": "Stable for a week"}
    )
    assert response.status_code == expected
    starter.refresh_from_db()
    assert starter.status == (Status.MAINTENANCE if expected == 302 else Status.TITRATION)
    if expected == 302:
        change = starter.status_changes.latest("pk")
        assert (change.changed_by, change.reason) == (cast.prescriber, "Stable for a week")


def test_titration_complete_is_refused_outside_titration(cast):
    person = make_service_user(cast.clinic_a, Status.WAITING)
    client = cast.client("prescriber")
    response = client.post(reverse("titration-complete", args=[person.pk]), follow=True)
    assert "is not in titration" in response.content.decode()
    person.refresh_from_db()
    assert person.status == Status.WAITING


def test_the_form_suggests_half_the_last_dose_for_retitration(cast):
    from eligibility.services import service_user_transition

    person = make_service_user(cast.clinic_a, Status.TITRATION, by=cast.prescriber)
    client = cast.client("prescriber")
    submit(client, person, dose_AM="15", dose_PM="12.25")
    service_user_transition(
        service_user=person,
        to_status=Status.RETITRATION_REQUIRED,
        changed_by=None,
        reason="Three sessions missed",
    )
    response = client.get(reverse("prescription-new", args=[person.pk]))
    assert response.context["suggestion"] == {"AM": Decimal("7.50"), "PM": Decimal("6.12")}
    assert response.context["form"].initial["dose_AM"] == Decimal("7.50")
    assert "Suggested restart at 50% of the last prescribed dose" in response.content.decode()
    # The prescriber may change it within the limits: up to the dose before the lapse,
    # with a written clinical reason above half of it.
    response = submit(client, person, dose_AM="10", dose_PM="6", valid_from="2026-11-27T10:00")
    assert "AM restarts at 10 mg, above half the dose before the lapse" in (
        response.content.decode()
    )
    response = submit(
        client,
        person,
        dose_AM="10",
        dose_PM="6",
        valid_from="2026-11-27T10:00",
        clinical_reason="Missed three sessions in one day only",
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.status == Status.RETITRATION


def test_no_suggestion_outside_retitration(cast, starter):
    response = cast.client("prescriber").get(reverse("prescription-new", args=[starter.pk]))
    assert response.context["suggestion"] == {}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("prescriber", 200),
        ("nurse", 403),
        ("hca", 403),
        ("manager", 403),
        ("nurse_b", 404),
        (None, 403),
    ],
)
def test_titration_complete_through_the_api(cast, starter, who, expected):
    response = cast.client(who).post(
        f"/api/v1/service-users/{starter.pk}/titration-complete/",
        {"reason": "Stable"},
        content_type="application/json",
    )
    assert response.status_code == expected
    starter.refresh_from_db()
    assert starter.status == (Status.MAINTENANCE if expected == 200 else Status.TITRATION)


@pytest.mark.parametrize("status", [Status.SUSPENDED, Status.MAINTENANCE, Status.WAITING])
def test_titration_complete_is_refused_outside_titration_everywhere(cast, status):
    from core.errors import RuleViolation
    from eligibility.services import titration_complete

    person = make_service_user(cast.clinic_a, status)
    with pytest.raises(RuleViolation) as refused:
        titration_complete(service_user=person, prescriber=cast.prescriber)
    assert refused.value.code == "not_in_titration"
    response = cast.client("prescriber").post(
        f"/api/v1/service-users/{person.pk}/titration-complete/",
        {},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "is not in titration" in response.json()["detail"]
    person.refresh_from_db()
    assert person.status == status
