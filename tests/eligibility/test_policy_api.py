"""POST policies/ (issue 18.3): a manager issues a new policy version through the API,
any value and the dose slots, from a stated time; each refusal names its field and
writes nothing."""

import datetime as dt

import pytest
import time_machine

from eligibility.models import ClinicPolicy
from eligibility.selectors import policy_in_force

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
FROM = "2026-03-09T00:00:00Z"
EVENING = [
    {"code": "AM", "opens_at": "08:00", "closes_at": "11:30"},
    {"code": "PM", "opens_at": "13:00", "closes_at": "17:30"},
    {"code": "EVE", "opens_at": "19:00", "closes_at": "21:00"},
]


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def post(cast, who="manager", **body):
    return cast.client(who).post(
        "/api/v1/policies/",
        {"effective_from": FROM, "reason": "Evening slot", **body},
        content_type="application/json",
    )


def test_a_manager_adds_an_evening_slot_and_breath_thresholds_from_a_stated_time(cast):
    answer = post(
        cast,
        slots=EVENING,
        breath_caution_threshold="10.0",
        breath_withhold_threshold="20.0",
        capacity=18,
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert [slot["code"] for slot in body["slots"]] == ["AM", "PM", "EVE"]
    assert (body["capacity"], body["breath_withhold_threshold"]) == (18, "20.0")
    assert body["retitration_threshold"] == 3, "values not given carry over"
    in_force = policy_in_force(clinic=cast.clinic_a, at=dt.datetime(2026, 3, 9, 1, tzinfo=dt.UTC))
    assert in_force.pk == body["id"] and in_force.breath_thresholds_set
    assert policy_in_force(clinic=cast.clinic_a, at=NOW).capacity == 15, "until then, as before"
    listed = cast.client("manager").get("/api/v1/policies/").json()["results"]
    assert [row["id"] for row in listed][:1] == [body["id"]], "newest first"
    assert {row["clinic"] for row in listed} == {cast.clinic_a.pk}, "only the caller's clinics"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (
            {"slots": [EVENING[0], {"code": "PM", "opens_at": "11:00", "closes_at": "17:30"}]},
            "slots_overlap",
            "slots",
        ),
        (
            {"slots": [EVENING[0], {"code": "PM", "opens_at": "11:30", "closes_at": "11:45"}]},
            "slot_window_too_short",
            "slots",
        ),
        ({"retitration_threshold": 1, "missed_warning_threshold": 1}, "threshold_too_low", None),
        ({"effective_from": "2026-03-01T00:00:00Z"}, "policy_in_past", "effective_from"),
        ({"slots": []}, "no_slots", "slots"),
    ],
)
def test_a_version_the_rules_refuse_is_a_400_naming_its_field_and_writes_nothing(
    cast, body, code, field
):
    before = ClinicPolicy.objects.count()
    answer = post(cast, **body)
    assert answer.status_code == 400, answer.json()
    assert answer.json()["code"] == code
    if field:
        assert answer.json()["field"] == field
    assert ClinicPolicy.objects.count() == before


def test_a_threshold_of_one_is_refused_by_name(cast):
    answer = post(cast, missed_warning_threshold=1)
    assert (answer.status_code, answer.json()["field"]) == (400, "missed_warning_threshold")
    assert "at least 2 consecutive sessions" in answer.json()["detail"]


def test_a_misspelt_value_or_another_clinic_is_refused(cast):
    typo = post(cast, capcity=20)
    assert typo.status_code == 400 and "capcity" in typo.json()
    other = post(cast, clinic=cast.clinic_b.pk, capacity=20)
    assert other.status_code == 404
    assert not ClinicPolicy.objects.filter(clinic=cast.clinic_b, capacity=20).exists()


@pytest.mark.parametrize("who", ["nurse", "hca", "prescriber", "nurse_b", None])
def test_only_a_manager_issues_a_version(cast, who):
    answer = post(cast, who=who, capacity=20)
    assert answer.status_code in (401, 403)
    assert not ClinicPolicy.objects.filter(capacity=20).exists()
