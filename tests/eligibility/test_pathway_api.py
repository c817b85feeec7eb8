"""The pathway through the API (issue 6.8): referrals/, eligibility-assessments/,
referrals/{id}/decide/ and service-users/{id}/admit/, with the role cast; and
admissions racing for the last place on PostgreSQL (issue 6.3)."""

import threading

import pytest
import time_machine
from django.db import connection, connections

from eligibility.models import Criterion, Referral, ServiceUser, Status
from eligibility.services import policy_issue
from tests.eligibility.pathway_setup import NOW, accepted, assess, refer
from tests.factories import StaffClient

JSON = "application/json"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def post(client, url, body):
    return client.post(url, body, content_type=JSON)


NEW_REFERRAL = {
    "person": {
        "nhs_number": "999 000 0018",
        "given_name": "Jo",
        "family_name": "New",
        "date_of_birth": "1985-04-01",
    },
    "referred_by": "Harbour drug service",
    "referral_date": "2026-03-02",
    "substance_use_history": "Heroin and crack",
    "treatment_history": "Methadone, buprenorphine",
    "risk_flags": ["stimulants"],
}


def test_the_whole_path_through_the_api(cast):
    hca, nurse, prescriber = (cast.client(w) for w in ("hca", "nurse", "prescriber"))
    created = post(hca, "/api/v1/referrals/", NEW_REFERRAL)
    assert created.status_code == 201, created.json()
    referral = created.json()
    person = ServiceUser.objects.get(pk=referral["service_user"])
    assert (person.status, person.flag_stimulants) == (Status.REFERRED, True)

    answers = {c.value: {"met": True, "evidence": "Assessed"} for c in Criterion}
    answers["stable_on_methadone"] = {"met": False, "evidence": "Never stable"}
    assessed = post(
        nurse, "/api/v1/eligibility-assessments/", {"referral": referral["id"], "answers": answers}
    )
    assert assessed.status_code == 201, assessed.json()
    decide = f"/api/v1/referrals/{referral['id']}/decide/"
    refused = post(prescriber, decide, {"decision": "accepted", "reason": "Eligible"})
    assert (refused.status_code, refused.json()["code"]) == (400, "advisory_reason_required")
    done = post(
        prescriber,
        decide,
        {"decision": "accepted", "reason": "Eligible", "advisory_reason": "Why HAT", "priority": 1},
    )
    assert done.status_code == 200 and done.json()["decision"] == "accepted"
    waiting = prescriber.get("/api/v1/referrals/?waiting=true").json()["results"]
    assert [r["id"] for r in waiting] == [referral["id"]]
    admitted = post(
        prescriber,
        f"/api/v1/service-users/{person.pk}/admit/",
        {"agreement_signed_on": "2026-03-02", "witness": cast.nurse.username},
    )
    assert admitted.status_code == 200, admitted.json()
    assert admitted.json()["status"] == "titration"


def test_bad_input_gets_a_clear_400(cast):
    client = cast.client("nurse")
    both = post(client, "/api/v1/referrals/", {**NEW_REFERRAL, "service_user": 1})
    assert both.status_code == 400 and "person" in both.json()
    unknown = post(client, "/api/v1/referrals/", {**NEW_REFERRAL, "referer": "x"})
    assert unknown.status_code == 400 and "referer" in unknown.json()
    referral = refer(cast)
    missing = post(
        client,
        "/api/v1/eligibility-assessments/",
        {"referral": referral.pk, "answers": {"adult": {"met": True, "evidence": "DOB"}}},
    )
    assert (missing.status_code, missing.json()["code"]) == (400, "answers_missing")


@pytest.mark.parametrize(
    ("who", "refer_status", "decide_status", "admit_status"),
    [
        ("nurse", 201, 403, 403),
        ("hca", 201, 403, 403),
        ("prescriber", 201, 200, 200),
        ("manager", 201, 403, 403),  # managers may not decide eligibility
        ("nurse_b", 201, 404, 404),  # another clinic's referral does not exist for them
        (None, 403, 403, 403),
    ],
)
def test_the_pathway_role_cast(cast, who, refer_status, decide_status, admit_status):
    client = cast.client(who)
    body = {**NEW_REFERRAL, "person": {**NEW_REFERRAL["person"], "nhs_number": "9990000026"}}
    assert post(client, "/api/v1/referrals/", body).status_code == refer_status
    referral = refer(cast)
    assess(cast, referral)
    decided = post(
        client,
        f"/api/v1/referrals/{referral.pk}/decide/",
        {"decision": "accepted", "reason": "Eligible"},
    )
    assert decided.status_code == decide_status
    ready = accepted(cast)
    admitted = post(
        client,
        f"/api/v1/service-users/{ready.service_user_id}/admit/",
        {"agreement_signed_on": "2026-03-02", "witness": cast.nurse.username},
    )
    assert admitted.status_code == admit_status


@pytest.mark.django_db(transaction=True)
def test_admissions_racing_for_places_never_exceed_capacity(cast):
    """Parallel admit requests, each on its own connection, against a clinic with
    2 places: exactly 2 are admitted, the rest are told the clinic is full."""
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=NOW,
        reason="Two places",
        capacity=2,
        now=NOW,
    )
    people = [accepted(cast).service_user_id for _ in range(6)]
    barrier = threading.Barrier(len(people))
    answers, errors = [], []

    def admit(pk):
        try:
            client = StaffClient()
            client.force_login(cast.prescriber)
            barrier.wait()
            response = post(
                client,
                f"/api/v1/service-users/{pk}/admit/",
                {"agreement_signed_on": "2026-03-02", "witness": cast.nurse.username},
            )
            answers.append((response.status_code, response.json().get("code")))
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=admit, args=(pk,)) for pk in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(answers, key=str) == sorted(
        [(200, None)] * 2 + [(400, "clinic_full")] * 4, key=str
    )
    assert ServiceUser.objects.filter(status=Status.TITRATION).count() == 2
    assert Referral.objects.filter(admitted_at__isnull=False).count() == 2
    print(f"admission race on {connection.vendor}: 6 parallel requests, 2 places, 2 admitted")
