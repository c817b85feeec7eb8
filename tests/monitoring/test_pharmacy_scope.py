"""A pharmacy's token sees only its own people, and never overwrites the clinic
(issue 16.3).

The probe that harvested names: POST methadone-collections/ over ids 1 to 18 with one
token answered "Danny had no methadone prescription…" for waiting-list people and
other pharmacies' people. Now a token reports only for people whose methadone its
pharmacy dispenses that day, and every other id or NHS number gets the same nameless
404. A pharmacy's report that disagrees with a nurse's record is kept beside it, and
alerts; the nurse's record stands.
"""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from alerts.models import Alert, AlertKind
from core.roles import Role
from dosing.prescribing import methadone_prescribe, pharmacy_add
from eligibility.models import Status
from monitoring.models import MethadoneCollection, MethadoneConflict
from monitoring.records import methadone_collection_record
from tests.factories import make_pharmacy_token, make_service_user

NOW = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC)
URL = "/api/v1/methadone-collections/"
DAY = "2026-02-10"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def on_methadone_at(cast, clinic, pharmacy, **names):
    person = make_service_user(clinic, Status.MAINTENANCE, by=cast.prescriber, now=NOW, **names)
    methadone_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        nightly_dose_mg="30",
        pharmacy=pharmacy,
        reason="Overnight cover",
        valid_from=NOW - dt.timedelta(days=30),
        now=NOW - dt.timedelta(days=30),
    )
    return person


@pytest.fixture
def town(cast):
    """High St's own person; a person of Quay Pharmacy at the same clinic; someone on
    the waiting list with no methadone; and a person at clinic B."""
    high_st = pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    quay = pharmacy_add(clinic=cast.clinic_a, name="Quay Pharmacy", address="2 Quay")
    far = pharmacy_add(clinic=cast.clinic_b, name="High St Pharmacy", address="9 Far Rd")
    _, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager, pharmacy=high_st)
    return {
        "auth": {"HTTP_AUTHORIZATION": f"Token {key}"},
        "own": on_methadone_at(cast, cast.clinic_a, high_st, given_name="Olive"),
        "quay's": on_methadone_at(cast, cast.clinic_a, quay, given_name="Danny"),
        "waiting": make_service_user(
            cast.clinic_a, Status.WAITING, by=cast.prescriber, given_name="Wendy"
        ),
        "clinic B's": on_methadone_at(cast, cast.clinic_b, far, given_name="Bea"),
        "high_st": high_st,
    }


def report(town, collected=False, **person):
    return Client().post(
        URL,
        {**person, "day": DAY, "collected": collected},
        content_type="application/json",
        **town["auth"],
    )


def test_every_person_outside_the_pharmacys_scope_is_the_same_nameless_404(town):
    answers = {}
    for who in ("quay's", "waiting", "clinic B's"):
        person = town[who]
        answers[f"{who} by id"] = report(town, service_user=person.pk)
        answers[f"{who} by NHS number"] = report(town, nhs_number=person.nhs_number)
    answers["unknown id"] = report(town, service_user=10**6)
    answers["unknown NHS number"] = report(town, nhs_number="9990000026")
    expected = (404, answers["unknown id"].json())
    assert {name: (r.status_code, r.json()) for name, r in answers.items()} == dict.fromkeys(
        answers, expected
    )
    for name in ("Danny", "Wendy", "Bea", "methadone"):
        assert all(name not in r.content.decode() for r in answers.values()), name
    assert not MethadoneCollection.objects.exists()
    own = report(town, nhs_number=town["own"].nhs_number)
    assert own.status_code == 201 and own.json()["source"] == "pharmacy"


def test_a_token_lists_only_its_pharmacys_records(cast, town):
    for who in ("own", "quay's"):
        methadone_collection_record(
            service_user=town[who], day=dt.date(2026, 2, 9), collected=True, recorded_by=cast.nurse
        )
    listed = Client().get(URL, **town["auth"]).json()["results"]
    assert [row["service_user"] for row in listed] == [town["own"].pk]
    assert len(cast.client("nurse").get(URL).json()["results"]) == 2


def test_a_pharmacy_never_overwrites_the_nurses_record_it_is_kept_beside_and_alerts(cast, town):
    own = town["own"]
    methadone_collection_record(
        service_user=own, day=NOW.date(), collected=True, recorded_by=cast.nurse, note="Seen"
    )
    disagreeing = report(town, service_user=own.pk, collected=False)
    assert disagreeing.status_code == 409
    assert disagreeing.json()["code"] == "staff_record_stands"
    record = MethadoneCollection.objects.get()
    assert (record.collected, record.source, record.recorded_by) == (True, "staff", cast.nurse)
    conflict = MethadoneConflict.objects.get()
    assert (conflict.collection, conflict.collected, conflict.pharmacy) == (
        record,
        False,
        town["high_st"],
    )
    alert = Alert.objects.get(kind=AlertKind.METHADONE_CONFLICT)
    assert alert.service_user == own and "High St Pharmacy reports methadone not collected" in (
        alert.detail
    )
    # Agreeing changes nothing and raises nothing; a nurse's later report still replaces.
    agreeing = report(town, service_user=own.pk, collected=True)
    assert agreeing.status_code == 200 and agreeing.json()["source"] == "staff"
    assert MethadoneConflict.objects.count() == 1
    assert Alert.objects.filter(kind=AlertKind.METHADONE_CONFLICT).count() == 1
    methadone_collection_record(
        service_user=own, day=NOW.date(), collected=False, recorded_by=cast.nurse
    )
    assert MethadoneCollection.objects.get().collected is False


def test_a_pharmacy_may_correct_its_own_report(town):
    own = town["own"]
    assert report(town, service_user=own.pk, collected=False).status_code == 201
    assert report(town, service_user=own.pk, collected=True).status_code == 200
    assert MethadoneCollection.objects.get().collected is True
    assert not MethadoneConflict.objects.exists()


def test_staff_of_two_clinics_naming_a_number_registered_at_both_are_asked_for_the_id(cast):
    """An NHS number is unique within a clinic (issue 16.4), so it can name two people
    for someone working at both: a clear 400, not a 500."""
    from eligibility.services import staff_member_add

    high_st = pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    far = pharmacy_add(clinic=cast.clinic_b, name="Far Pharmacy", address="9 Far Rd")
    at_a = on_methadone_at(cast, cast.clinic_a, high_st, nhs_number="9990000018")
    on_methadone_at(cast, cast.clinic_b, far, nhs_number="9990000018")
    staff_member_add(clinic=cast.clinic_b, user=cast.nurse, roles=[Role.NURSE])
    client = cast.client("nurse")
    body = {"day": DAY, "collected": True}
    ambiguous = client.post(
        URL, {**body, "nhs_number": "9990000018"}, content_type="application/json"
    )
    assert ambiguous.status_code == 400
    assert ambiguous.json()["code"] == "nhs_number_ambiguous"
    by_id = client.post(URL, {**body, "service_user": at_a.pk}, content_type="application/json")
    assert by_id.status_code == 201


def test_a_token_issued_before_tokens_named_a_pharmacy_reaches_nobody(cast, town):
    from eligibility.models import IntegrationToken

    IntegrationToken.objects.update(pharmacy=None)
    assert report(town, service_user=town["own"].pk).status_code == 404
    assert not MethadoneCollection.objects.exists()


def test_a_day_at_the_end_of_the_calendar_is_refused_as_in_the_future_not_a_500(cast, town):
    far = Client().post(
        URL,
        {"service_user": town["own"].pk, "day": "9999-12-31", "collected": True},
        content_type="application/json",
        **town["auth"],
    )
    assert far.status_code == 400 and far.json()["field"] == "day"
