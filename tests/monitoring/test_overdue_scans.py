"""The overdue scans (issue 5.1): reviews, tox screens, breath tests for
alcohol-flagged service users, methadone not collected. Each raises its alert
once per cause, catches up whenever it runs, and runs in fixed queries."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert, AlertKind
from dosing.reviews import review_record
from monitoring.records import tox_screen_record
from monitoring.scans import (
    breath_missing_scan,
    methadone_uncollected_scan,
    reviews_overdue_scan,
    tox_overdue_scan,
)
from monitoring.tasks import (
    scan_breath_missing,
    scan_methadone_uncollected,
    scan_reviews_overdue,
    scan_tox_overdue,
)
from tests.monitoring.scan_setup import SET_UP, people_on_prescription

ADMITTED = SET_UP  # people_on_prescription admits them then


def alerts(kind):
    return Alert.objects.filter(kind=kind)


def test_a_review_is_overdue_7_days_after_admission_or_the_last_review(cast):
    person, other = people_on_prescription(cast, 2)
    assert reviews_overdue_scan(now=ADMITTED + dt.timedelta(days=6)) == 0
    review_record(
        service_user=other,
        prescriber=cast.prescriber,
        decision="continue",
        notes="Stable",
        now=ADMITTED + dt.timedelta(days=6),
    )
    assert reviews_overdue_scan(now=ADMITTED + dt.timedelta(days=7, minutes=1)) == 1
    alert = alerts(AlertKind.REVIEW_OVERDUE).get()
    assert alert.service_user == person
    assert alert.detail == "No prescriber review in the last 7 days."
    # Running again, later, changes nothing; the other person falls due after their review.
    assert reviews_overdue_scan(now=ADMITTED + dt.timedelta(days=8)) == 0
    assert reviews_overdue_scan(now=ADMITTED + dt.timedelta(days=13, minutes=1)) == 1
    assert alerts(AlertKind.REVIEW_OVERDUE).count() == 2
    # A new review, then overdue again: a new cause, a new alert.
    review_record(
        service_user=person,
        prescriber=cast.prescriber,
        decision="continue",
        notes="Seen",
        now=ADMITTED + dt.timedelta(days=14),
    )
    assert reviews_overdue_scan(now=ADMITTED + dt.timedelta(days=21, minutes=1)) == 1


def test_a_tox_screen_is_overdue_after_7_days(cast):
    (person,) = people_on_prescription(cast, 1)
    admitted_day = ADMITTED.date()
    assert tox_overdue_scan(now=ADMITTED + dt.timedelta(days=7)) == 0
    assert tox_overdue_scan(now=ADMITTED + dt.timedelta(days=7, minutes=1)) == 1
    tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=admitted_day + dt.timedelta(days=8),
        results={"cocaine": "negative"},
        now=ADMITTED + dt.timedelta(days=8),
    )
    # Sampled on day 8: due by day 15, overdue from day 16.
    assert tox_overdue_scan(now=ADMITTED + dt.timedelta(days=15, hours=12)) == 0
    assert tox_overdue_scan(now=ADMITTED + dt.timedelta(days=16, hours=1)) == 1
    assert tox_overdue_scan(now=ADMITTED + dt.timedelta(days=20)) == 0
    assert alerts(AlertKind.TOX_OVERDUE).count() == 2


def test_a_suspended_person_is_not_chased_for_reviews_or_samples(cast):
    from eligibility.models import Status
    from eligibility.services import service_user_transition

    (person,) = people_on_prescription(cast, 1)
    service_user_transition(
        service_user=person,
        to_status=Status.SUSPENDED,
        changed_by=cast.prescriber,
        reason="Hospital",
        now=ADMITTED + dt.timedelta(days=1),
    )
    later = ADMITTED + dt.timedelta(days=30)
    assert reviews_overdue_scan(now=later) == tox_overdue_scan(now=later) == 0


def test_an_alcohol_flagged_person_who_attended_without_a_breath_test_raises_an_alert(cast):
    from dosing.models import DoseSession, SessionStatus
    from dosing.room import session_decline
    from dosing.sessions import dose_sessions_generate
    from tests.monitoring.scan_setup import london

    day = dt.date(2026, 2, 10)
    flagged, unflagged, absent = people_on_prescription(cast, 3)
    for person in (flagged, absent):
        person.flag_alcohol = True
        person.save()
    dose_sessions_generate(clinic=cast.clinic_a, days=[day], now=SET_UP)
    for person in (flagged, unflagged):
        session_decline(
            session=DoseSession.objects.get(service_user=person, slot_code="AM"),
            nurse=cast.nurse,
            now=london(day, 9),
        )
    assert breath_missing_scan(now=london(day, 17)) == 0, "the day is not over"
    assert breath_missing_scan(now=london(day, 17, 30)) == 1
    alert = alerts(AlertKind.BREATH_MISSING).get()
    assert alert.service_user == flagged
    assert alert.session == DoseSession.objects.get(service_user=flagged, slot_code="PM")
    assert alert.detail == "Alcohol-flagged, attended on 2026-02-10 with no breath test recorded."
    assert DoseSession.objects.get(service_user=flagged, slot_code="PM").status == (
        SessionStatus.SCHEDULED
    )
    assert breath_missing_scan(now=london(day + dt.timedelta(days=3), 9)) == 0


def test_the_methadone_scan_catches_what_the_reports_missed(cast):
    from dosing.prescribing import methadone_prescribe, pharmacy_add
    from monitoring.models import MethadoneCollection

    (person,) = people_on_prescription(cast, 1)
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name="Corner Pharmacy", address="2 Corner")
    methadone_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        nightly_dose_mg="20",
        pharmacy=pharmacy,
        reason="Cover",
        now=SET_UP,
    )
    # Three uncollected days written straight to the table, as an import might.
    for n in range(3):
        MethadoneCollection.objects.create(
            service_user=person,
            clinic=cast.clinic_a,
            pharmacy=pharmacy,
            day=dt.date(2026, 1, 20) + dt.timedelta(days=n),
            collected=False,
            source="pharmacy",
            recorded_by=cast.nurse,
            recorded_at=SET_UP,
        )
    assert methadone_uncollected_scan(now=SET_UP + dt.timedelta(days=14)) == 1
    assert methadone_uncollected_scan(now=SET_UP + dt.timedelta(days=15)) == 0


@pytest.mark.parametrize(
    ("scan", "kind"),
    [
        (reviews_overdue_scan, AlertKind.REVIEW_OVERDUE),
        (tox_overdue_scan, AlertKind.TOX_OVERDUE),
    ],
)
def test_the_overdue_scans_run_fixed_queries(cast, scan, kind):
    from eligibility.models import Status
    from tests.factories import make_service_user

    def queries(n, now):
        for _ in range(n):
            make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=SET_UP)
        with CaptureQueriesContext(connection) as captured:
            scan(now=now)
        return len(captured)

    later = SET_UP + dt.timedelta(days=30)
    small = queries(3, later)
    assert queries(30, later + dt.timedelta(days=1)) == small
    assert alerts(kind).count() == 33


def test_the_scan_tasks_run_the_scans(cast):
    people_on_prescription(cast, 1)
    with time_machine.travel(SET_UP + dt.timedelta(days=30), tick=False):
        assert scan_reviews_overdue.delay().get() == 1
        assert scan_tox_overdue.delay().get() == 1
        assert scan_breath_missing.delay().get() == 0
        assert scan_methadone_uncollected.delay().get() == 0
