"""The monitoring records in the browser (issue 5.4) and on the service user's page
(issue 5.5)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import AlertKind
from alerts.services import alert_raise
from dosing.breath import breath_test_record
from dosing.models import BreathTest
from dosing.prescribing import methadone_prescribe, pharmacy_add
from eligibility.models import Status
from monitoring.models import MethadoneCollection, ToxScreen
from monitoring.records import methadone_collection_record, tox_screen_record
from tests.factories import make_service_user

NOW = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC)
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def person(cast):
    person = make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=NOW - dt.timedelta(days=60)
    )
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    methadone_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        nightly_dose_mg="30",
        pharmacy=pharmacy,
        reason="Overnight cover",
        valid_from=NOW - dt.timedelta(days=10, hours=12),
        now=NOW - dt.timedelta(days=40),
    )
    return person


def page(cast, who, person):
    return cast.client(who).get(reverse("service-user-detail", args=[person.pk]))


def test_the_page_shows_tox_breath_methadone_and_open_alerts(cast, person):
    tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=dt.date(2026, 2, 9),
        results={"noscapine": "positive", "cocaine": "positive", "fentanyl": "negative"},
        now=NOW,
    )
    breath_test_record(service_user=person, recorded_by=cast.hca, reading="12.5", now=NOW)
    for days_ago, collected in [(2, True), (1, False)]:
        methadone_collection_record(
            service_user=person,
            day=dt.date(2026, 2, 10) - dt.timedelta(days=days_ago),
            collected=collected,
            recorded_by=cast.nurse,
            now=NOW,
        )
    alert_raise(
        kind=AlertKind.TOX_OVERDUE,
        clinic=cast.clinic_a,
        service_user=person,
        cause_key="tox:x",
        detail="No urine tox screen in the last 7 days.",
        now=NOW,
    )
    response = page(cast, "nurse", person)
    html = response.content.decode()
    assert "Sample of Mon 9 Feb 2026" in html and "street heroin markers" in html
    assert "Cocaine (benzoylecgonine)" in html and "Fentanyl" in html
    assert "Buprenorphine" not in html, "substances not tested are left out"
    assert ">12.5<" in html
    (monitoring,) = [p for p in response.context["panels"] if p.template.startswith("monitoring/")]
    calendar = monitoring.context["calendar"]
    assert len(calendar) == 28
    states = {cell["day"]: cell["state"] for cell in calendar}
    assert states[dt.date(2026, 2, 8)] == "collected"
    assert states[dt.date(2026, 2, 9)] == "not_collected"
    assert states[dt.date(2026, 2, 10)] == "unreported"
    assert states[dt.date(2026, 1, 20)] == "none", "before the methadone prescription"
    assert "Feb: not collected" in html
    assert "No urine tox screen in the last 7 days." in html


def test_the_page_runs_the_same_queries_for_a_short_and_a_long_history(cast, person):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            page(cast, "nurse", person)
        return len(captured)

    tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=dt.date(2026, 2, 1),
        results={"cocaine": "negative"},
        now=NOW,
    )
    short = queries()
    for n in range(10):
        tox_screen_record(
            service_user=person,
            recorded_by=cast.nurse,
            sample_date=dt.date(2026, 2, 1) + dt.timedelta(days=n % 9),
            results={"cocaine": "positive"},
            now=NOW,
        )
        breath_test_record(service_user=person, recorded_by=cast.hca, reading=str(n), now=NOW)
        methadone_collection_record(
            service_user=person,
            day=dt.date(2026, 2, 1) + dt.timedelta(days=n % 9),
            collected=bool(n % 2),
            recorded_by=cast.nurse,
            now=NOW,
        )
    assert queries() == short


def test_a_nurse_records_a_tox_screen_in_the_browser(cast, person):
    client = cast.client("nurse")
    url = reverse("tox-screen-new", args=[person.pk])
    form = {"sample_date": "2026-02-10", "notes": ""}
    refused = client.post(url, form)
    assert refused.status_code == 400
    assert "Record at least one result" in refused.content.decode()
    done = client.post(url, {**form, "result_papaverine": "positive"}, follow=True)
    assert "positive for Papaverine (street heroin marker)" in done.content.decode()
    assert ToxScreen.objects.get().street_heroin


def test_an_hca_records_a_breath_test_in_the_browser(cast, person):
    client = cast.client("hca")
    url = reverse("breath-test-new", args=[person.pk])
    refused = client.post(url, {"reading_mcg_per_100ml": "900"})
    assert "between 0 and 500" in refused.content.decode()
    done = client.post(url, {"reading_mcg_per_100ml": "8"}, follow=True)
    assert "Breath test recorded: 8.0 µg/100 ml." in done.content.decode()
    assert BreathTest.objects.get().recorded_by == cast.hca


def test_a_nurse_records_a_methadone_collection_in_the_browser(cast, person):
    client = cast.client("nurse")
    url = reverse("methadone-collection-new", args=[person.pk])
    before = client.post(url, {"day": "2026-01-05", "collected": "yes"})
    assert "had no methadone prescription on 05 Jan 2026" in before.content.decode()
    done = client.post(url, {"day": "2026-02-09", "collected": "no"}, follow=True)
    assert "Methadone on 09 Feb recorded: not collected." in done.content.decode()
    again = client.post(url, {"day": "2026-02-09", "collected": "yes"}, follow=True)
    assert "updated (the earlier report is in the history)" in again.content.decode()
    assert MethadoneCollection.objects.get().collected


@pytest.mark.parametrize(
    "starts",
    [
        dt.datetime(2026, 2, 10, 14, 0, tzinfo=LONDON),  # GMT
        dt.datetime(2026, 3, 29, 14, 0, tzinfo=LONDON),  # the clocks went forward at 01:00
    ],
)
def test_methadone_from_14_00_is_collected_that_day_in_the_browser(cast, starts):
    person = make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=NOW - dt.timedelta(days=60)
    )
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    methadone_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        nightly_dose_mg="30",
        pharmacy=pharmacy,
        reason="Overnight cover from this afternoon",
        valid_from=starts,
        now=starts,
    )
    # Logged in at the time of the visit: an idle session ends.
    with time_machine.travel(starts + dt.timedelta(hours=2), tick=False):
        client = cast.client("nurse")
        (monitoring,) = [
            p
            for p in client.get(reverse("service-user-detail", args=[person.pk])).context["panels"]
            if p.template.startswith("monitoring/")
        ]
        states = {cell["day"]: cell["state"] for cell in monitoring.context["calendar"]}
        assert states[starts.date()] == "unreported"
        assert states[starts.date() - dt.timedelta(days=1)] == "none"
        done = client.post(
            reverse("methadone-collection-new", args=[person.pk]),
            {"day": starts.date().isoformat(), "collected": "yes"},
            follow=True,
        )
    assert f"Methadone on {starts:%d %b} recorded: collected." in done.content.decode()
    assert MethadoneCollection.objects.get(service_user=person).pharmacy == pharmacy


FORMS = ["tox-screen-new", "breath-test-new", "methadone-collection-new"]
ALLOWED = {
    "tox-screen-new": {"nurse"},
    "breath-test-new": {"nurse", "hca"},
    "methadone-collection-new": {"nurse"},
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("who", ["nurse", "hca", "prescriber", "manager", "nurse_b", None])
def test_the_record_forms_role_cast(cast, person, form, who):
    response = cast.client(who).get(reverse(form, args=[person.pk]))
    if who is None:
        assert response.status_code == 302
    elif who == "nurse_b":
        assert response.status_code == 404
    else:
        assert response.status_code == (200 if who in ALLOWED[form] else 403)


@pytest.mark.parametrize("who", ["nurse", "hca", "prescriber", "manager"])
def test_every_role_sees_the_monitoring_section(cast, person, who):
    html = page(cast, who, person).content.decode()
    assert "Methadone collections, last 28 days" in html
    assert ("Record tox screen" in html) == (who == "nurse")
    assert ("Record breath test" in html) == (who in ("nurse", "hca"))


def test_the_weekly_review_shows_the_last_tox_screen_and_methadone_collections(cast, person):
    tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=dt.date(2026, 2, 6),
        results={"acetylcodeine": "positive", "cocaine": "negative"},
        now=NOW,
    )
    methadone_collection_record(
        service_user=person,
        day=dt.date(2026, 2, 8),
        collected=False,
        recorded_by=cast.nurse,
        now=NOW,
    )
    breath_test_record(service_user=person, recorded_by=cast.hca, reading="3", now=NOW)
    response = cast.client("prescriber").get(reverse("review-new", args=[person.pk]))
    html = response.content.decode()
    summary = response.context["summary"]
    assert [r.substance for r in summary["last_tox"].results.all()] == ["acetylcodeine", "cocaine"]
    assert "street heroin markers" in html
    assert "Sun 8 not collected" in html
    assert "3.0 µg/100 ml" in html
