"""Weekly reviews: the queue, the decision and the prescription it issues."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from core.errors import RuleViolation
from core.roles import Role
from dosing.amendments import session_amend
from dosing.models import DoseSession, Prescription, Review, ReviewDecision
from dosing.prescribing import prescription_issue
from dosing.reviews import review_record
from dosing.selectors import prescription_in_force, review_queue
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from tests.dosing import room_setup
from tests.factories import PASSWORD, TRANSFER, make_service_user, make_staff

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
    recorded = review(dosed, cast.prescriber, ReviewDecision.CONTINUE)
    assert recorded.prescription is None
    assert Prescription.objects.count() == 1


def test_increase_issues_the_next_version_in_the_same_step(cast, dosed):
    recorded = review(dosed, cast.prescriber, ReviewDecision.INCREASE, {"AM": "20", "PM": "20"})
    assert recorded.prescription.version == 2
    assert prescription_in_force(service_user=dosed, at=NOW).dose_for("AM") == Decimal("20")
    assert "Weekly review (Increase)" in recorded.prescription.reason


@pytest.mark.parametrize(
    ("decision", "doses", "code"),
    [
        (ReviewDecision.INCREASE, {"AM": "15", "PM": "15"}, "increase_not_higher"),
        (ReviewDecision.REDUCE, {"AM": "15", "PM": "15"}, "reduce_not_lower"),
        (ReviewDecision.INCREASE, None, "doses_required"),
        (ReviewDecision.CONTINUE, {"AM": "20"}, "continue_with_doses"),
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
        review(dosed, cast.prescriber, ReviewDecision.INCREASE, {"AM": "600", "PM": "600"})
    assert refused.value.code == "daily_total_above_ceiling"
    assert not Review.objects.exists()


def test_retitrate_requires_retitration_and_issues_its_prescription(cast, dosed):
    recorded = review(dosed, cast.prescriber, ReviewDecision.RETITRATE, {"AM": "7.5", "PM": "7.5"})
    dosed.refresh_from_db()
    assert dosed.status == Status.RETITRATION
    assert recorded.prescription.purpose == "retitration"
    path = list(dosed.status_changes.order_by("pk").values_list("to_status", flat=True))[-2:]
    assert path == [Status.RETITRATION_REQUIRED, Status.RETITRATION]


def test_retitrate_without_doses_leaves_the_person_needing_retitration(cast, dosed):
    review(dosed, cast.prescriber, ReviewDecision.RETITRATE)
    dosed.refresh_from_db()
    assert dosed.status == Status.RETITRATION_REQUIRED


def test_only_people_in_treatment_are_reviewed(cast):
    waiting = make_service_user(cast.clinic_a, Status.WAITING)
    with pytest.raises(RuleViolation) as refused:
        review(waiting, cast.prescriber, ReviewDecision.CONTINUE)
    assert refused.value.code == "not_in_treatment"


def test_the_queue_sorts_most_overdue_first_and_marks_each_state(cast, dosed):
    make_service_user(
        cast.clinic_a, Status.TITRATION, given_name="Never", now=NOW - dt.timedelta(days=3)
    )
    recent = make_service_user(cast.clinic_a, Status.MAINTENANCE, given_name="Recent", now=ADMITTED)
    review(recent, cast.prescriber, ReviewDecision.CONTINUE, at=NOW - dt.timedelta(days=2))
    lapsed = make_service_user(cast.clinic_a, Status.MAINTENANCE, given_name="Lapsed", now=ADMITTED)
    review(lapsed, cast.prescriber, ReviewDecision.CONTINUE, at=NOW - dt.timedelta(days=9))
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


def test_the_queue_page_puts_retitration_required_first_then_the_most_overdue(cast):
    """Alphabetical order is the reverse of the expected one, so a queue sorted by name
    fails."""

    def person(family_name, status, admitted):
        return make_service_user(
            cast.clinic_a, status, by=cast.prescriber, family_name=family_name, now=admitted
        )

    # Due in 5 days, but no dose may be given until a prescriber acts: first.
    person("Ashworth", Status.RETITRATION_REQUIRED, NOW - dt.timedelta(days=2))
    person("Baker", Status.MAINTENANCE, NOW - dt.timedelta(days=3))  # due in 4 days
    recent = person("Clarke", Status.MAINTENANCE, ADMITTED)
    review(recent, cast.prescriber, ReviewDecision.CONTINUE, at=NOW - dt.timedelta(days=2))
    lapsed = person("Dunn", Status.MAINTENANCE, ADMITTED)
    review(lapsed, cast.prescriber, ReviewDecision.CONTINUE, at=NOW - dt.timedelta(days=9))
    person("Evans", Status.TITRATION, ADMITTED)  # never reviewed: 17 days overdue
    with time_machine.travel(NOW, tick=False):
        response = cast.client("prescriber").get(reverse("review-queue"))
    rows = re.findall(
        r'<tr data-state="(\w+)">\s*<td><a href="[^"]+">Jamie (\w+)</a>', response.content.decode()
    )
    assert rows == [
        ("due", "Ashworth"),
        ("overdue", "Evans"),
        ("overdue", "Dunn"),
        ("due", "Baker"),
        ("done", "Clarke"),
    ]


def test_a_review_exactly_seven_days_old_is_overdue(cast, dosed):
    review(dosed, cast.prescriber, ReviewDecision.CONTINUE, at=NOW - dt.timedelta(days=7))
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
            review(
                person, cast.prescriber, ReviewDecision.CONTINUE, at=NOW - dt.timedelta(days=n % 10)
            )
    client = cast.client("prescriber")
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("review-queue"))
    assert len(response.context["rows"]) == size
    # Session, user, the second-factor device, clinic, roles held, one permission read, the
    # check for closed windows to settle (none here), policy, slots, the queue itself,
    # the open-alert count in the navigation, and the session save in its savepoint
    # (3): fixed, whatever the size.
    assert len(queries) == 14, [q["sql"][:80] for q in queries]


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


def test_the_review_page_names_the_prescriber_of_each_earlier_review(cast, dosed):
    colleague = make_staff(cast.clinic_a, Role.PRESCRIBER, username="dr_jones")
    review(dosed, colleague, ReviewDecision.CONTINUE, at=NOW - dt.timedelta(days=8), notes="Stable")
    html = cast.client("prescriber").get(reverse("review-new", args=[dosed.pk])).content.decode()
    assert f"({escape(colleague.get_full_name())}) — Stable" in html
    assert colleague.username not in html


def test_the_review_page_shows_a_refusal_beside_the_doses(cast, dosed):
    response = cast.client("prescriber").post(
        reverse("review-new", args=[dosed.pk]),
        {"decision": "reduce", "notes": "x", "dose_AM": "20", "dose_PM": "20"},
    )
    assert response.status_code == 400  # a refusal is a 400, as on every page
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


def test_the_review_page_shows_each_dose_as_corrected_in_fixed_queries(cast):
    person = make_service_user(
        cast.clinic_a, Status.TITRATION, by=cast.prescriber, now=room_setup.SET_UP
    )
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60", "PM": "60"},
        route_im=True,
        **TRANSFER,
        reason="Transfer",
        now=room_setup.SET_UP,
    )
    tuesday, wednesday = room_setup.DAY, room_setup.DAY + dt.timedelta(days=1)
    dose_sessions_generate(clinic=cast.clinic_a, days=[tuesday, wednesday], now=room_setup.SET_UP)

    def at(day, hour):
        return dt.datetime.combine(day, dt.time(hour), tzinfo=room_setup.LONDON)

    def session(day, slot):
        return DoseSession.objects.get(service_user=person, clinic_day=day, slot_code=slot)

    def correct(day, slot, changes, when):
        session_amend(
            session=session(day, slot),
            amended_by=cast.nurse,
            record="administration",
            changes=changes,
            reason="Mis-keyed",
            witness_username=cast.hca.username,
            witness_password=PASSWORD,
            now=when,
        )

    def review_page(when):
        with time_machine.travel(when, tick=False):
            client = cast.client("prescriber")
            with CaptureQueriesContext(connection) as queries:
                html = client.get(reverse("review-new", args=[person.pk])).content.decode()
        doses = re.findall(r'<div data-testid="dose-given">(.*?)</div>', html)
        return html, [re.sub(r"<[^>]+>", "", dose) for dose in doses], len(queries)

    room_setup.give_dose(cast, session(tuesday, "AM"), at(tuesday, 9))
    correct(tuesday, "AM", {"injected_mg": "50", "route": "im", "site": "deltoid"}, at(tuesday, 10))
    html, doses, queries_for_one = review_page(at(tuesday, 11))
    assert doses == ["Tue 10 Feb 09:00 AM: 50 mg IM corrected"]
    assert "will appear here once monitoring records them" not in html

    for day, slot, hour in [(tuesday, "PM", 14), (wednesday, "AM", 9), (wednesday, "PM", 14)]:
        room_setup.give_dose(cast, session(day, slot), at(day, hour))
    correct(wednesday, "AM", {"injected_mg": "55"}, at(wednesday, 10))
    _, doses, queries_for_four = review_page(at(wednesday, 18))
    assert doses == [
        "Tue 10 Feb 09:00 AM: 50 mg IM corrected",
        "Tue 10 Feb 14:00 PM: 60 mg IV",
        "Wed 11 Feb 09:00 AM: 55 mg IV corrected",
        "Wed 11 Feb 14:00 PM: 60 mg IV",
    ]
    assert queries_for_four == queries_for_one
