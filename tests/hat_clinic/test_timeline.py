"""The service user's timeline (issue 6.7): everything in time order, filterable by
kind, in a fixed number of queries whatever the length of the history."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import Alert, AlertKind
from alerts.services import alert_raise
from dosing.breath import breath_test_record
from dosing.leaving import suspension_start
from dosing.models import BreathTest
from eligibility.models import Status
from monitoring.records import tox_screen_record
from tests.dosing.room_setup import SET_UP, dosed_at_nine, on_prescription

NOW = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def person(cast):
    person = on_prescription(cast)
    dosed_at_nine(cast, person)
    tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=NOW.date(),
        results={"cocaine": "positive"},
        now=NOW,
    )
    breath_test_record(service_user=person, recorded_by=cast.hca, reading="2.5", now=NOW)
    alert_raise(
        kind=AlertKind.TOX_OVERDUE,
        clinic=cast.clinic_a,
        service_user=person,
        cause_key="tox:t",
        detail="Overdue",
        now=NOW - dt.timedelta(days=1),
    )
    suspension_start(
        service_user=person,
        kind="hospital",
        starts_on=NOW.date(),
        reason="Admitted",
        recorded_by=cast.nurse,
        now=NOW + dt.timedelta(hours=1),
    )
    return person


def page(cast, person, who="nurse", **params):
    return cast.client(who).get(reverse("service-user-timeline", args=[person.pk]), params)


def test_the_timeline_lists_every_kind_newest_first(cast, person):
    response = page(cast, person)
    events = response.context["events"]
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    kinds = {e.kind for e in events}
    assert {"status", "prescription", "session", "tox", "breath", "alert", "pathway"} <= kinds
    html = response.content.decode()
    assert "Suspended: hospital admission" in html
    assert "Positive: Cocaine (benzoylecgonine)" in html
    assert "AM Tue 10 Feb: administered" in html


def test_the_timeline_filters_by_kind(cast, person):
    events = page(cast, person, kind=["tox", "alert"]).context["events"]
    assert {e.kind for e in events} == {"tox", "alert"}
    assert [e.kind for e in events] == ["tox", "alert"], "the sample is newer than the alert"


def test_the_timeline_runs_the_same_queries_for_10_and_1000_events(cast, person):
    def queries():
        client = cast.client("nurse")
        url = reverse("service-user-timeline", args=[person.pk])
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        return len(captured), len(response.context["events"]), response.context["older"]

    small, shown, older = queries()
    assert shown >= 10 and older is None
    BreathTest.objects.bulk_create(
        BreathTest(
            service_user=person,
            clinic=cast.clinic_a,
            taken_at=SET_UP + dt.timedelta(minutes=n),
            clinic_day=SET_UP.date(),
            reading_mcg_per_100ml=n % 50,
            recorded_by=cast.hca,
            recorded_at=SET_UP,
        )
        for n in range(500)
    )
    Alert.objects.bulk_create(
        Alert(
            kind=AlertKind.MISSED_DOSE,
            severity=1,
            clinic=cast.clinic_a,
            service_user=person,
            cause_key=f"bulk:{n}",
            detail="Missed",
            created_at=SET_UP + dt.timedelta(hours=n),
        )
        for n in range(500)
    )
    large, shown, older = queries()
    assert large == small, "the timeline must not query per event"
    assert shown == 100 and older is not None
    print(f"timeline: {small} queries for {shown} and for 1,000+ events")


def test_the_older_page_continues_where_the_first_ended(cast, person):
    for n in range(150):
        breath_test_record(
            service_user=person,
            recorded_by=cast.hca,
            reading="1",
            taken_at=SET_UP + dt.timedelta(minutes=n),
            now=NOW,
        )
    first = page(cast, person, kind=["breath"])
    second = page(cast, person, kind=["breath"], before=first.context["older"])
    assert first.context["events"][-1].at > second.context["events"][0].at
    assert len(first.context["events"]) + len(second.context["events"]) == 151
    assert second.context["older"] is None


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nurse", 200),
        ("hca", 200),
        ("prescriber", 200),
        ("manager", 200),
        ("nurse_b", 404),
        (None, 302),
    ],
)
def test_the_timeline_role_cast(cast, person, who, status):
    response = page(cast, person, who)
    assert response.status_code == status
    if status == 200:
        assert response.context["service_user"].status == Status.SUSPENDED
