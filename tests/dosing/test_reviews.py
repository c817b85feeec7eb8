"""Weekly reviews: the queue, the decision and the prescription it issues."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dosing.models import Decision, Prescription, Review
from dosing.selectors import prescription_in_force, review_queue
from dosing.services import prescription_issue, review_record
from eligibility.models import Status
from hat_clinic.errors import RuleViolation
from hat_clinic.roles import Role
from tests.factories import make_service_user, make_staff

pytestmark = pytest.mark.django_db

ADMITTED = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def dosed(cast):
    """A service user admitted on 2 Nov on 15 mg twice a day, then on maintenance."""
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=ADMITTED)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "15", "PM": "15"},
        reason="Start",
        now=ADMITTED,
    )
    return person


def review(person, prescriber, decision, doses=None, at=NOW, notes="Seen today"):
    return review_record(
        service_user=person,
        prescriber=prescriber,
        decision=decision,
        notes=notes,
        slot_doses=doses,
        now=at,
    )


def test_continue_records_the_review_and_issues_nothing(cast, dosed):
    recorded = review(dosed, cast.prescriber, Decision.CONTINUE)
    assert recorded.prescription is None
    assert Prescription.objects.count() == 1


def test_increase_issues_the_next_version_in_the_same_step(cast, dosed):
    recorded = review(dosed, cast.prescriber, Decision.INCREASE, {"AM": "20", "PM": "20"})
    assert recorded.prescription.version == 2
    assert prescription_in_force(service_user=dosed, at=NOW).dose_for("AM") == Decimal("20")
    assert "Weekly review (Increase)" in recorded.prescription.reason


@pytest.mark.parametrize(
    ("decision", "doses", "code"),
    [
        (Decision.INCREASE, {"AM": "15", "PM": "15"}, "increase_not_higher"),
        (Decision.REDUCE, {"AM": "15", "PM": "15"}, "reduce_not_lower"),
        (Decision.INCREASE, None, "doses_required"),
        (Decision.CONTINUE, {"AM": "20"}, "continue_with_doses"),
    ],
)
def test_a_decision_that_contradicts_its_doses_is_refused(cast, dosed, decision, doses, code):
    with pytest.raises(RuleViolation) as refused:
        review(dosed, cast.prescriber, decision, doses)
    assert refused.value.code == code
    assert not Review.objects.exists()
    assert Prescription.objects.count() == 1


def test_a_refused_prescription_leaves_no_review_behind(cast, dosed):
    with pytest.raises(RuleViolation) as refused:
        review(dosed, cast.prescriber, Decision.INCREASE, {"AM": "600", "PM": "600"})
    assert refused.value.code == "daily_total_above_ceiling"
    assert not Review.objects.exists()


def test_retitrate_requires_retitration_and_issues_its_prescription(cast, dosed):
    recorded = review(dosed, cast.prescriber, Decision.RETITRATE, {"AM": "7.5", "PM": "7.5"})
    dosed.refresh_from_db()
    assert dosed.status == Status.RETITRATION
    assert recorded.prescription.purpose == "retitration"
    path = list(dosed.status_changes.order_by("pk").values_list("to_status", flat=True))[-2:]
    assert path == [Status.RETITRATION_REQUIRED, Status.RETITRATION]


def test_retitrate_without_doses_leaves_the_person_needing_retitration(cast, dosed):
    review(dosed, cast.prescriber, Decision.RETITRATE)
    dosed.refresh_from_db()
    assert dosed.status == Status.RETITRATION_REQUIRED


def test_only_people_in_treatment_are_reviewed(cast):
    waiting = make_service_user(cast.clinic_a, Status.WAITING)
    with pytest.raises(RuleViolation) as refused:
        review(waiting, cast.prescriber, Decision.CONTINUE)
    assert refused.value.code == "not_in_treatment"


def test_the_queue_sorts_most_overdue_first_and_marks_each_state(cast, dosed):
    make_service_user(
        cast.clinic_a, Status.TITRATION, given_name="Never", now=NOW - dt.timedelta(days=3)
    )
    recent = make_service_user(cast.clinic_a, Status.MAINTENANCE, given_name="Recent", now=ADMITTED)
    review(recent, cast.prescriber, Decision.CONTINUE, at=NOW - dt.timedelta(days=2))
    lapsed = make_service_user(cast.clinic_a, Status.MAINTENANCE, given_name="Lapsed", now=ADMITTED)
    review(lapsed, cast.prescriber, Decision.CONTINUE, at=NOW - dt.timedelta(days=9))
    make_service_user(cast.clinic_a, Status.WAITING, given_name="Waiting")
    rows = review_queue(clinic=cast.clinic_a, now=NOW)
    assert [(r.given_name, r.review_state) for r in rows] == [
        (dosed.given_name, "overdue"),  # admitted 24 days ago, never reviewed
        ("Lapsed", "overdue"),  # last review 9 days ago
        ("Never", "due"),  # admitted 3 days ago: due in 4 days
        ("Recent", "done"),  # reviewed 2 days ago: due again in 5 days
    ]
    assert rows[0].overdue_days == 17
    assert rows[1].overdue_days == 2


def test_a_review_exactly_seven_days_old_is_overdue(cast, dosed):
    review(dosed, cast.prescriber, Decision.CONTINUE, at=NOW - dt.timedelta(days=7))
    assert review_queue(clinic=cast.clinic_a, now=NOW)[0].review_state == "due"
    later = NOW + dt.timedelta(seconds=1)
    assert review_queue(clinic=cast.clinic_a, now=later)[0].review_state == "overdue"


@pytest.mark.parametrize("size", [15, 150])
def test_the_queue_page_runs_the_same_queries_for_15_and_150(cast, size):
    for n in range(size):
        person = make_service_user(
            cast.clinic_a, Status.MAINTENANCE, family_name=f"P{n:03d}", now=ADMITTED
        )
        if n % 3 == 0:
            review(person, cast.prescriber, Decision.CONTINUE, at=NOW - dt.timedelta(days=n % 10))
    client = cast.client("prescriber")
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("review-queue"))
    assert len(response.context["rows"]) == size
    # Session, user, clinic, groups, two permission reads, policy, slots, the queue
    # itself, the open-alert count in the navigation, and the session save in its
    # savepoint (3): fixed, whatever the size.
    assert len(queries) == 13, [q["sql"][:80] for q in queries]


@pytest.mark.parametrize(
    ("who", "expected"),
    [("prescriber", 200), ("nurse", 403), ("hca", 403), ("manager", 403), ("nurse_b", 404)],
)
def test_only_a_prescriber_opens_the_review_page(cast, dosed, who, expected):
    response = cast.client(who).get(reverse("review-new", args=[dosed.pk]))
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [("prescriber", 200), ("manager", 200), ("nurse", 200), ("hca", 200), (None, 302)],
)
def test_the_queue_is_readable_by_the_clinic(cast, who, expected):
    assert cast.client(who).get(reverse("review-queue")).status_code == expected


def test_the_review_page_records_an_increase_with_its_prescription(cast, dosed):
    client = cast.client("prescriber")
    page = client.get(reverse("review-new", args=[dosed.pk])).content.decode()
    assert "Prescription in force" in page and "15.00 mg" in page
    response = client.post(
        reverse("review-new", args=[dosed.pk]),
        {"decision": "increase", "notes": "Using on top", "dose_AM": "20", "dose_PM": "20"},
    )
    assert response.status_code == 302
    assert Review.objects.get().prescription.version == 2


def test_the_review_page_shows_a_refusal_beside_the_doses(cast, dosed):
    response = cast.client("prescriber").post(
        reverse("review-new", args=[dosed.pk]),
        {"decision": "reduce", "notes": "x", "dose_AM": "20", "dose_PM": "20"},
    )
    assert response.status_code == 200
    assert "A reduction must lower the day&#x27;s doses below 30 mg" in response.content.decode()
    assert not Review.objects.exists()


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
def test_reviews_api_is_for_prescribers(cast, dosed, who, expected):
    response = cast.client(who).post(
        "/api/v1/reviews/",
        {
            "service_user": dosed.pk,
            "decision": "increase",
            "notes": "More",
            "slot_doses": {"AM": "20", "PM": "20"},
        },
        content_type="application/json",
    )
    assert response.status_code == expected
    if expected == 201:
        assert response.json()["prescription"] == Prescription.objects.get(version=2).pk


def test_reviews_api_refuses_with_the_services_message(cast, dosed):
    response = cast.client("prescriber").post(
        "/api/v1/reviews/",
        {
            "service_user": dosed.pk,
            "decision": "reduce",
            "notes": "x",
            "slot_doses": {"AM": "20", "PM": "20"},
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "reduce_not_lower"


def test_another_clinics_prescriber_cannot_review(cast, dosed):
    prescriber_b = make_staff(cast.clinic_b, Role.PRESCRIBER)
    client = cast.client(None)
    client.force_login(prescriber_b)
    response = client.post(
        "/api/v1/reviews/",
        {"service_user": dosed.pk, "decision": "continue", "notes": "x"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert client.get(reverse("review-new", args=[dosed.pk])).status_code == 404
