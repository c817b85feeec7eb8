"""prescriptions/ against the cast: prescribers issue, everyone in the clinic reads,
nobody edits, another clinic gets 404, and refusals match the service's."""

import pytest

from core.roles import Role
from dosing.models import Prescription
from eligibility.models import Status
from tests.factories import make_service_user, make_staff

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


@pytest.fixture
def starter(cast):
    return make_service_user(cast.clinic_a, Status.TITRATION, by=cast.prescriber)


def post(client, body):
    return client.post("/api/v1/prescriptions/", body, content_type="application/json")


def body_for(person, **changes):
    body = {
        "service_user": person.pk,
        "slot_doses": {"AM": "15.00", "PM": "15"},
        "reason": "Induction",
    }
    body.update(changes)
    return body


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
def test_only_a_prescriber_issues_a_prescription(cast, starter, who, expected):
    response = post(cast.client(who), body_for(starter))
    assert response.status_code == expected, response.content
    assert Prescription.objects.count() == (1 if expected == 201 else 0)
    if expected == 201:
        body = response.json()
        assert body["slot_doses"] == {"AM": "15.00", "PM": "15.00"}
        assert body["version"] == 1
        assert body["purpose"] == "induction"
        assert body["routes"] == ["iv"]
        assert body["max_daily_total_mg"] == "30.00"
        assert body["prescriber"] == cast.prescriber.pk
        assert body["valid_from"].endswith("Z") or "+" in body["valid_from"]


def test_another_clinics_prescriber_gets_404_for_the_service_user(cast, starter):
    prescriber_b = make_staff(cast.clinic_b, Role.PRESCRIBER)
    client = cast.client(None)
    client.force_login(prescriber_b)
    assert post(client, body_for(starter)).status_code == 404
    assert not Prescription.objects.exists()


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("prescriber", 200),
        ("nurse", 200),
        ("hca", 200),
        ("manager", 200),
        ("nurse_b", 404),
        (None, 403),
    ],
)
def test_a_prescription_is_read_by_its_clinic_only(cast, starter, who, expected):
    prescription_id = post(cast.client("prescriber"), body_for(starter)).json()["id"]
    response = cast.client(who).get(f"/api/v1/prescriptions/{prescription_id}/")
    assert response.status_code == expected


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_nobody_edits_or_deletes_a_prescription(cast, starter, method):
    prescription_id = post(cast.client("prescriber"), body_for(starter)).json()["id"]
    client = cast.client("prescriber")
    response = getattr(client, method)(
        f"/api/v1/prescriptions/{prescription_id}/",
        {"reason": "x"},
        content_type="application/json",
    )
    assert response.status_code == 405
    assert Prescription.objects.get(pk=prescription_id).reason == "Induction"


@pytest.mark.parametrize(
    ("changes", "code", "words"),
    [
        ({"slot_doses": {"AM": "15.01"}}, "induction_dose_above_limit", "at most 15 mg"),
        ({"slot_doses": {"AM": "0"}}, "dose_not_positive", "more than 0 mg"),
        ({"slot_doses": {"AM": "-1"}}, "dose_not_positive", "more than 0 mg"),
        (
            {"slot_doses": {"AM": "500", "PM": "500.01"}, "documented_transfer": True},
            "daily_total_above_ceiling",
            "most allowed is 1000 mg",
        ),
        (
            {"slot_doses": {"AM": "60"}, "documented_transfer": True},
            "transfer_evidence_required",
            "the service they come from, the last dose there (mg), the day of that dose, "
            "who confirmed it",
        ),
        (
            {
                "slot_doses": {"AM": "60"},
                "documented_transfer": True,
                "transfer_service": "Leeds",
                "transfer_last_dose_mg": "60",
                "transfer_last_dose_on": "2099-01-01",
                "transfer_confirmed_by": "Dr Khan",
            },
            "transfer_date_in_future",
            "cannot be after today",
        ),
        (
            {"valid_from": "2026-11-27T09:00:00Z", "valid_to": "2026-11-27T09:00:00Z"},
            "valid_to_not_after_valid_from",
            "must end after it starts",
        ),
    ],
)
def test_api_refusals_are_400s_with_the_services_message(cast, starter, changes, code, words):
    response = post(cast.client("prescriber"), body_for(starter, **changes))
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert words in response.json()["detail"]
    assert not Prescription.objects.exists()


def test_a_titration_rise_above_50_percent_is_refused_through_the_api(cast, starter):
    client = cast.client("prescriber")
    assert post(client, body_for(starter)).status_code == 201
    later = {"valid_from": "2026-11-27T09:00:00Z"}
    response = post(client, body_for(starter, slot_doses={"AM": "22.51"}, **later))
    assert response.json()["code"] == "titration_rise_above_limit"
    assert "22.5 mg" in response.json()["detail"]
    assert post(client, body_for(starter, slot_doses={"AM": "22.5"}, **later)).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"slot_doses": {"AM": "10"}, "reason": "x", "service_user": "abc"},
        {"slot_doses": "ten", "reason": "x"},
        {"slot_doses": {"AM": "10"}, "reason": "x", "topup_mg": "5"},  # misspelt field
        {"slot_doses": {"AM": "10"}, "reason": "x", "routes": ["oral"]},
    ],
)
def test_bad_input_is_a_400_naming_the_field(cast, starter, body):
    body.setdefault("service_user", starter.pk)
    response = post(cast.client("prescriber"), body)
    assert response.status_code == 400
    assert set(response.json()) & {"service_user", "slot_doses", "topup_mg", "routes"}


def test_a_non_json_body_is_a_415(cast, starter):
    response = cast.client("prescriber").post(
        "/api/v1/prescriptions/", "service_user=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


def test_the_list_filters_by_service_user_in_fixed_queries(cast, django_assert_max_num_queries):
    client = cast.client("prescriber")
    people = [make_service_user(cast.clinic_a, Status.TITRATION) for _ in range(12)]
    for person in people:
        assert post(client, body_for(person)).status_code == 201
    reader = cast.client("nurse")
    # Session, user, clinic, one permission read by clinic, count, rows, doses, session
    # save (with its savepoint): 10 whatever the number of prescriptions.
    with django_assert_max_num_queries(11):  # with the session's second-factor device
        response = reader.get("/api/v1/prescriptions/")
    assert response.json()["count"] == 12
    only = reader.get("/api/v1/prescriptions/", {"service_user": people[0].pk}).json()
    assert [p["service_user"] for p in only["results"]] == [people[0].pk]
