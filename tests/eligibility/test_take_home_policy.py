"""The clinic's take-home criteria (issue 19.1): each required, advisory or off, with
the number it uses, set by a manager as a new policy version, on its page and through
POST policies/; and the service user's take-home eligibility, on their take-home page
and at GET take-home/eligibility/."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from eligibility.models import AccessLog, ClinicPolicy, Status, TakeHomeCriterion
from eligibility.selectors import policy_in_force
from tests.factories import make_service_user
from tests.helpers import form_data

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC)
URL = reverse("take-home-criteria")
API = "/api/v1/take-home/eligibility/"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def criteria_form(cast, **changes):
    page = cast.client("manager").get(URL)
    assert page.status_code == 200
    return {**form_data(page.content.decode(), aria_label="Take-home criteria"), **changes}


def test_a_new_clinic_requires_every_criterion_at_the_standard_numbers(cast):
    policy = policy_in_force(clinic=cast.clinic_a)
    assert policy.take_home_levels == dict.fromkeys(TakeHomeCriterion.values, "required")
    assert (
        policy.take_home_maintenance_weeks,
        policy.take_home_adherence_percent,
        policy.take_home_recent_weeks,
        policy.take_home_tox_screens,
        policy.take_home_max_per_week,
    ) == (12, 90, 4, 3, 7)


def test_a_manager_sets_the_criteria_from_a_stated_time(cast):
    form = criteria_form(
        cast,
        effective_from="2026-03-09T01:00",
        reason="Take-home from the spring",
        level_maintenance="advisory",
        level_clean_tox="off",
        take_home_maintenance_weeks="8",
        take_home_adherence_percent="85",
        take_home_max_per_week="6",
    )
    done = cast.client("manager").post(URL, form, follow=True)
    assert "The take-home criteria are changed from the time given." in done.content.decode()
    policy = policy_in_force(clinic=cast.clinic_a, at=LATER)
    assert policy.take_home_levels["maintenance"] == "advisory"
    assert policy.take_home_levels["clean_tox"] == "off"
    assert policy.take_home_levels["adherence"] == "required"
    assert (policy.take_home_maintenance_weeks, policy.take_home_adherence_percent) == (8, 85)
    assert policy.take_home_max_per_week == 6
    assert policy_in_force(clinic=cast.clinic_a).take_home_maintenance_weeks == 12, "until then"
    shown = cast.client("manager").get(reverse("clinic-policy")).content.decode()
    assert "At least 8 weeks in maintenance: <strong>advisory</strong>" in shown
    assert "At most 6 take-home doses a week: <strong>required</strong>" in shown


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"take_home_adherence_percent": "101"}, "take_home_adherence_percent", "at most 100"),
        ({"take_home_tox_screens": "0"}, "take_home_tox_screens", "at least 1"),
        ({"take_home_max_per_week": "none"}, "take_home_max_per_week", "whole number"),
        ({"level_adherence": "sometimes"}, "level_adherence", "valid choice"),
        ({"reason": ""}, "reason", "required"),
    ],
)
def test_a_refused_change_keeps_what_was_typed_and_says_what_to_fix(cast, changes, field, message):
    before = ClinicPolicy.objects.count()
    form = criteria_form(
        cast, **{"reason": "Relax the weekly limit", "take_home_maintenance_weeks": "9", **changes}
    )
    refused = cast.client("manager").post(URL, form)
    assert refused.status_code == 400
    errors = refused.context["form"].errors
    assert list(errors) == [field] and message in " ".join(errors[field]).lower()
    kept = form_data(refused.content.decode(), aria_label="Take-home criteria")
    assert kept["take_home_maintenance_weeks"] == "9"
    assert kept[field] == changes[field] or field == "level_adherence"
    assert ClinicPolicy.objects.count() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("nurse", 403),
        ("hca", 403),
        ("prescriber", 403),
        ("nurse_b", 403),
        (None, 302),
    ],
)
def test_only_managers_set_the_criteria(cast, who, status):
    assert cast.client(who).get(URL).status_code == status
    answer = cast.client(who).post(URL, criteria_form(cast, reason="Tighter"))
    assert answer.status_code == (302 if who == "manager" else status)


def post_policy(cast, **body):
    return cast.client("manager").post(
        "/api/v1/policies/",
        {"effective_from": "2026-03-09T00:00:00Z", "reason": "Take-home", **body},
        content_type="application/json",
    )


def test_the_api_changes_some_criteria_and_keeps_the_others(cast):
    answer = post_policy(cast, take_home_levels={"adherence": "advisory"}, take_home_recent_weeks=6)
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["take_home_levels"] == {
        **dict.fromkeys(TakeHomeCriterion.values, "required"),
        "adherence": "advisory",
    }
    assert (body["take_home_recent_weeks"], body["take_home_tox_screens"]) == (6, 3)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"take_home_levels": {"adherence": "maybe"}}, "take_home_levels", "required, advisory"),
        ({"take_home_levels": {"housing": "required"}}, "take_home_levels", "housing"),
        ({"take_home_adherence_percent": 150}, "take_home_adherence_percent", "100"),
        ({"take_home_max_per_week": 0}, "take_home_max_per_week", "at least 1"),
    ],
)
def test_the_api_refuses_a_criterion_it_does_not_know_or_a_number_out_of_range(
    cast, body, field, words
):
    before = ClinicPolicy.objects.count()
    answer = post_policy(cast, **body)
    assert answer.status_code == 400, answer.json()
    refusal = answer.json()
    # The input's own check names the field as a key; the service's, as "field".
    said = " ".join(refusal[field]) if field in refusal else refusal["detail"]
    assert refusal.get("field", field) == field and words in said, refusal
    assert ClinicPolicy.objects.count() == before


@pytest.fixture
def person(cast):
    return make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=NOW)


@pytest.mark.parametrize("who", ["nurse", "hca", "prescriber", "manager"])
def test_every_role_of_the_clinic_sees_the_criteria_answered(cast, person, who):
    answer = cast.client(who).get(API, {"service_user": person.pk})
    assert answer.status_code == 200
    body = answer.json()
    assert body["service_user"] == person.pk and not body["eligible"]
    assert [c["code"] for c in body["criteria"]] == TakeHomeCriterion.values
    assert body["blocking"] == ["maintenance", "adherence", "clean_tox"]
    assert body["criteria"][0] == {
        "code": "maintenance",
        "asks": "At least 12 weeks in maintenance",
        "level": "required",
        "met": False,
        "evidence": "In maintenance since 2 Mar 2026: 0 weeks (12 needed).",
    }
    assert AccessLog.objects.filter(user=getattr(cast, who), what="take_home").count() == 1
    page = cast.client(who).get(reverse("take-home", args=[person.pk]))
    assert page.status_code == 200
    assert "Not eligible: at least 12 weeks in maintenance; at least 90% of sessions" in (
        page.content.decode()
    )


def test_the_weekly_maximum_is_checked_against_the_doses_asked_about(cast, person):
    answer = cast.client("prescriber").get(API, {"service_user": person.pk, "doses_per_week": 8})
    weekly = answer.json()["criteria"][-1]
    assert (weekly["met"], weekly["evidence"]) == (False, "8 take-home doses in a week; at most 7.")
    assert "weekly_maximum" in answer.json()["blocking"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "service_user"),
        ({"service_user": "me"}, "service_user"),
        ({"service_user": "0"}, "service_user"),
        ({"service_user": "PERSON", "doses_per_week": "0"}, "doses_per_week"),
        ({"service_user": "PERSON", "doses_per_week": "seven"}, "doses_per_week"),
    ],
)
def test_a_bad_question_is_a_400_naming_what_to_fix(cast, person, params, field):
    params = {k: person.pk if v == "PERSON" else v for k, v in params.items()}
    answer = cast.client("prescriber").get(API, params)
    assert (answer.status_code, answer.json()["field"]) == (400, field)


def test_another_clinics_service_user_is_not_found(cast, person):
    assert cast.client("nurse_b").get(API, {"service_user": person.pk}).status_code == 404
    assert cast.client("nurse_b").get(reverse("take-home", args=[person.pk])).status_code == 404
    assert cast.client(None).get(reverse("take-home", args=[person.pk])).status_code == 302
    assert not AccessLog.objects.filter(what="take_home").exists()
