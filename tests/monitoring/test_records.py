"""Monitoring records (issue 5.4): tox screens, breath tests and methadone
collections, through the services and the API, with history."""

import datetime as dt

import pytest

from alerts.models import Alert, AlertKind
from core.roles import Role
from dosing.assessment import session_assess
from dosing.breath import breath_test_record
from dosing.models import BreathTest
from dosing.prescribing import methadone_prescribe, pharmacy_add
from eligibility.models import Status
from eligibility.tokens import token_issue, token_revoke
from monitoring.models import MethadoneCollection, Substance, ToxResult
from monitoring.records import methadone_collection_record, tox_screen_record
from tests.dosing.room_setup import NINE, on_prescription
from tests.factories import make_pharmacy_token, make_service_user
from tests.helpers import refused
from tests.monitoring.scan_setup import london

NOW = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 2, 10)


@pytest.fixture
def person(cast):
    return make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=NOW)


@pytest.fixture
def on_methadone(cast, person):
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    methadone_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        nightly_dose_mg="30",
        pharmacy=pharmacy,
        reason="Overnight cover",
        valid_from=NOW - dt.timedelta(days=30),
        now=NOW - dt.timedelta(days=30),
    )
    person.pharmacy = pharmacy
    return person


# Tox screens.


def test_a_tox_screen_keeps_a_result_for_every_substance(cast, person):
    screen = tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=TODAY,
        results={"papaverine": "positive", "cocaine": "negative"},
        now=NOW,
    )
    results = {r.substance: r.result for r in screen.results.all()}
    assert len(results) == len(Substance) == 13
    assert results["papaverine"] == ToxResult.POSITIVE
    assert results["cocaine"] == ToxResult.NEGATIVE
    assert results["fentanyl"] == ToxResult.NOT_TESTED
    assert screen.street_heroin, "papaverine is a street heroin marker"
    assert screen.history.first().history_user == cast.nurse


def test_diamorphine_alone_is_not_street_heroin(cast, person):
    screen = tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=TODAY,
        results={
            "morphine_6mam": "positive",
            **dict.fromkeys(["acetylcodeine", "papaverine", "noscapine"], "negative"),
        },
        now=NOW,
    )
    assert not screen.street_heroin


@pytest.mark.parametrize(
    ("results", "sample_date", "code"),
    [
        ({"heroin": "positive"}, TODAY, "unknown_substance"),
        ({"cocaine": "maybe"}, TODAY, "unknown_result"),
        ({"cocaine": "not_tested"}, TODAY, "no_result"),
        ({"cocaine": "negative"}, TODAY + dt.timedelta(days=1), "date_in_future"),
    ],
)
def test_a_tox_screen_refuses_bad_input(cast, person, results, sample_date, code):
    refused(
        code,
        tox_screen_record,
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=sample_date,
        results=results,
        now=NOW,
    )


# Breath tests.


def test_a_breath_reading_before_a_dose_is_linked_to_its_session(cast):
    from dosing.models import DoseSession
    from eligibility.services import policy_issue
    from tests.dosing.room_setup import SET_UP

    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=SET_UP,
        reason="Breath thresholds",
        breath_caution_threshold="5",
        breath_withhold_threshold="20",
        now=SET_UP,
    )
    person = on_prescription(cast, flags=["alcohol"])
    session = DoseSession.objects.get(service_user=person, slot_code="AM")
    session_assess(
        session=session,
        nurse=cast.nurse,
        identity_confirmed=True,
        poss="1",
        breath_mcg_per_100ml="4.5",
        now=NINE,
    )
    test = BreathTest.objects.get()
    assert (test.session, test.service_user, str(test.reading_mcg_per_100ml)) == (
        session,
        person,
        "4.5",
    )
    assert test.clinic_day == NINE.date()


@pytest.mark.parametrize(
    ("reading", "code"),
    [
        ("-1", "breath_out_of_range"),
        ("501", "breath_out_of_range"),
        ("abc", "breath_not_a_number"),
        ("1.25", "breath_precision"),
        ("NaN", "breath_out_of_range"),
    ],
)
def test_a_breath_reading_must_make_sense(cast, person, reading, code):
    error = refused(
        code,
        breath_test_record,
        service_user=person,
        recorded_by=cast.hca,
        reading=reading,
        now=NOW,
    )
    assert error.field == "reading_mcg_per_100ml"


# Methadone collections.


def test_a_collection_needs_a_methadone_prescription_that_day(cast, person):
    refused(
        "no_methadone_prescription",
        methadone_collection_record,
        service_user=person,
        day=TODAY,
        collected=True,
        recorded_by=cast.nurse,
        now=NOW,
    )


def methadone_from(cast, person, starts, pharmacy_name="High St Pharmacy"):
    """Methadone prescribed at `starts`, starting then."""
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name=pharmacy_name, address="1 High St")
    methadone_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        nightly_dose_mg="30",
        pharmacy=pharmacy,
        reason="Overnight cover",
        valid_from=starts,
        now=starts,
    )
    return pharmacy


@pytest.mark.parametrize(
    "starts",
    [
        london(dt.date(2026, 2, 10), 14),  # GMT
        london(dt.date(2026, 3, 29), 14),  # the day the clocks go forward: 13:00 UTC
    ],
)
def test_a_prescription_starting_after_noon_covers_that_days_collection(cast, person, starts):
    pharmacy = methadone_from(cast, person, starts)
    record, created = methadone_collection_record(
        service_user=person,
        day=starts.date(),
        collected=True,
        recorded_by=cast.nurse,
        now=starts + dt.timedelta(hours=3),
    )
    assert (created, record.day, record.pharmacy) == (True, starts.date(), pharmacy)
    refused(
        "no_methadone_prescription",
        methadone_collection_record,
        service_user=person,
        day=starts.date() - dt.timedelta(days=1),
        collected=True,
        recorded_by=cast.nurse,
        now=starts + dt.timedelta(hours=3),
    )


def test_a_prescription_from_just_after_midnight_in_summer_time_covers_the_next_day(cast, person):
    """00:30 BST on Monday 30 March is 23:30 UTC on the Sunday: it starts Monday."""
    monday = london(dt.date(2026, 3, 30), 0, 30)
    methadone_from(cast, person, monday)
    later = monday + dt.timedelta(hours=12)
    refused(
        "no_methadone_prescription",
        methadone_collection_record,
        service_user=person,
        day=dt.date(2026, 3, 29),
        collected=True,
        recorded_by=cast.nurse,
        now=later,
    )
    record, _ = methadone_collection_record(
        service_user=person, day=monday.date(), collected=True, recorded_by=cast.nurse, now=later
    )
    assert record.day == dt.date(2026, 3, 30)


def test_a_prescription_stopped_before_midday_does_not_cover_the_day(cast, on_methadone):
    """The day a prescription stops keeps the rule it always had: in force at midday."""
    stop = london(TODAY + dt.timedelta(days=1), 10)
    methadone_prescribe(
        service_user=on_methadone,
        prescriber=cast.prescriber,
        nightly_dose_mg="30",
        pharmacy=on_methadone.pharmacy,
        reason="Last day tomorrow morning",
        valid_from=NOW,
        valid_to=stop,
        now=NOW,
    )
    after = stop + dt.timedelta(days=1)
    record, _ = methadone_collection_record(
        service_user=on_methadone, day=TODAY, collected=True, recorded_by=cast.nurse, now=after
    )
    assert record.day == TODAY
    refused(
        "no_methadone_prescription",
        methadone_collection_record,
        service_user=on_methadone,
        day=stop.date(),
        collected=True,
        recorded_by=cast.nurse,
        now=after,
    )


def test_a_second_report_for_a_day_replaces_the_first_and_history_keeps_both(cast, on_methadone):
    record, created = methadone_collection_record(
        service_user=on_methadone, day=TODAY, collected=False, recorded_by=cast.nurse, now=NOW
    )
    assert created and record.pharmacy == on_methadone.pharmacy
    again, created = methadone_collection_record(
        service_user=on_methadone,
        day=TODAY,
        collected=True,
        recorded_by=cast.nurse,
        note="Came at 6 pm",
        now=NOW + dt.timedelta(hours=5),
    )
    assert (again.pk, created, again.collected) == (record.pk, False, True)
    assert [h.collected for h in again.history.order_by("history_date")] == [False, True]


def test_three_uncollected_days_in_a_row_raise_one_alert(cast, on_methadone):
    def report(days_ago, collected):
        methadone_collection_record(
            service_user=on_methadone,
            day=TODAY - dt.timedelta(days=days_ago),
            collected=collected,
            recorded_by=cast.nurse,
            now=NOW,
        )

    report(5, True)
    report(4, False)
    report(3, False)
    assert not Alert.objects.exists()
    report(2, False)
    alert = Alert.objects.get(kind=AlertKind.METHADONE_UNCOLLECTED)
    assert alert.service_user == on_methadone
    assert alert.detail.startswith("3 days in a row with methadone not collected")
    report(1, False)
    assert Alert.objects.count() == 1, "one alert for one run of days"
    report(0, True)
    report(0, False)  # the pharmacy corrects today: still the same run
    assert Alert.objects.count() == 1


# The API.


def test_the_api_records_a_tox_screen(cast, person):
    client = cast.client("nurse")
    response = client.post(
        "/api/v1/tox-screens/",
        {
            "service_user": person.pk,
            "sample_date": "2026-02-10",
            "results": {"fentanyl": "positive"},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["results"]["fentanyl"] == "positive"
    assert response.json()["results"]["cocaine"] == "not_tested"
    listed = client.get(f"/api/v1/tox-screens/?service_user={person.pk}").json()
    assert [row["id"] for row in listed["results"]] == [response.json()["id"]]
    bad = client.post(
        "/api/v1/tox-screens/",
        {"service_user": person.pk, "sample_date": "2026-02-10", "results": {"lsd": "positive"}},
        content_type="application/json",
    )
    assert bad.status_code == 400


RECORD_POSTS = {
    "tox-screens": lambda p: {
        "service_user": p.pk,
        "sample_date": "2026-02-10",
        "results": {"cocaine": "negative"},
    },
    "breath-tests": lambda p: {"service_user": p.pk, "reading_mcg_per_100ml": "0"},
    "methadone-collections": lambda p: {
        "service_user": p.pk,
        "day": "2026-02-10",
        "collected": True,
    },
}
MAY_ADD = {
    "tox-screens": {"nurse"},
    "breath-tests": {"nurse", "hca"},
    "methadone-collections": {"nurse"},
}


@pytest.mark.parametrize("path", sorted(RECORD_POSTS))
@pytest.mark.parametrize("who", ["nurse", "hca", "prescriber", "manager", "nurse_b", None])
def test_the_record_paths_role_cast(cast, on_methadone, path, who):
    import time_machine

    client = cast.client(who)
    with time_machine.travel(NOW, tick=False):
        posted = client.post(
            f"/api/v1/{path}/", RECORD_POSTS[path](on_methadone), content_type="application/json"
        )
        listed = client.get(f"/api/v1/{path}/")
    if who is None:
        assert (posted.status_code, listed.status_code) == (403, 403)
    elif who == "nurse_b":
        assert posted.status_code == 404, "another clinic's service user does not exist"
        assert listed.json()["results"] == []
    elif who in MAY_ADD[path]:
        assert posted.status_code == 201, posted.json()
        assert len(listed.json()["results"]) == 1
    else:
        assert posted.status_code == 403
        assert listed.status_code == 200


# A pharmacy's integration token.


@pytest.fixture
def pharmacy_token(cast):
    token, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager, now=NOW)
    return token, {"HTTP_AUTHORIZATION": f"Token {key}"}


def test_a_pharmacy_reports_collections_with_its_token(cast, on_methadone, pharmacy_token):
    import time_machine
    from django.test import Client

    token, auth = pharmacy_token
    client = Client()
    body = {"nhs_number": on_methadone.nhs_number, "day": "2026-02-10", "collected": False}
    with time_machine.travel(NOW, tick=False):
        first = client.post(
            "/api/v1/methadone-collections/", body, content_type="application/json", **auth
        )
        second = client.post(
            "/api/v1/methadone-collections/",
            {**body, "collected": True},
            content_type="application/json",
            **auth,
        )
    assert (first.status_code, second.status_code) == (201, 200)
    record = MethadoneCollection.objects.get()
    assert (record.collected, record.source, record.recorded_by) == (
        True,
        MethadoneCollection.Source.PHARMACY,
        token.account,
    )
    # The token reports collections and nothing else.
    assert client.get("/api/v1/alerts/", **auth).status_code == 403
    assert client.get("/api/v1/service-users/", **auth).status_code == 403
    assert client.get("/api/v1/dose-sessions/", **auth).status_code == 403
    # It cannot log in to the browser, and once revoked it is refused.
    assert not token.account.has_usable_password()
    token_revoke(token=token, revoked_by=cast.manager, now=NOW)
    refused_now = client.get("/api/v1/methadone-collections/", **auth)
    assert refused_now.status_code in (401, 403)
    assert client.get(
        "/api/v1/methadone-collections/", HTTP_AUTHORIZATION="Token not-a-key"
    ).status_code in (401, 403)


def test_another_clinics_token_cannot_reach_this_clinics_people(cast, on_methadone):
    from django.test import Client

    _, key = make_pharmacy_token(cast.clinic_b, created_by=cast.manager, name="Elsewhere")
    response = Client().post(
        "/api/v1/methadone-collections/",
        {"service_user": on_methadone.pk, "day": "2026-02-10", "collected": True},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert response.status_code == 404


def test_a_token_holds_only_an_integration_role(cast):
    refused(
        "token_role",
        token_issue,
        clinic=cast.clinic_a,
        name="Sneaky",
        role=Role.PRESCRIBER,
        created_by=cast.manager,
    )
