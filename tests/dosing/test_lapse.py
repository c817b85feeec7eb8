"""Re-titration after a lapse in time as well as in sessions (issue 15.4; docs/domain.md,
"Missed doses and re-titration"): when the last dose was more than the clinic's
re-titration days ago (default 3), re-titration is required whatever the count,
unless a prescriber confirmed opioid cover for the gap."""

import datetime as dt

import pytest
import time_machine

from alerts.models import Alert, AlertKind
from dosing.leaving import suspension_end, suspension_start
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession
from dosing.prescribing import prescription_issue
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from eligibility.services import policy_issue
from tests.dosing.room_setup import give_dose
from tests.factories import TRANSFER, make_service_user
from tests.monitoring.scan_setup import SET_UP, london

pytestmark = pytest.mark.django_db

TUE = dt.date(2026, 2, 10)
DAYS = [TUE + dt.timedelta(days=n) for n in range(5)]  # Tuesday to Saturday
FRI = DAYS[3]


def on_mornings_only(cast, **policy):
    """On an AM dose only, one session a day, dosed on Tuesday at 09:00; under the
    clinic's policy changed by ``policy`` before anything is scheduled."""
    if policy:
        policy_issue(
            clinic=cast.clinic_a,
            issued_by=None,
            reason="Changed",
            effective_from=SET_UP,
            now=SET_UP - dt.timedelta(minutes=1),
            **policy,
        )
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=SET_UP)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60"},
        **TRANSFER,
        reason="Transfer",
        now=SET_UP,
    )
    dose_sessions_generate(clinic=cast.clinic_a, days=DAYS, now=SET_UP)
    give_dose(cast, am(person, TUE), london(TUE, 9))
    return person


@pytest.fixture
def mornings_only(cast):
    return on_mornings_only(cast)


def am(person, day):
    return DoseSession.objects.get(service_user=person, clinic_day=day, slot_code="AM")


def assess_through_the_api(cast, person, when):
    with time_machine.travel(when, tick=False):
        return cast.client("nurse").post(
            f"/api/v1/dose-sessions/{am(person, when.date()).pk}/assess/",
            {"identity_confirmed": True, "poss": "1"},
            content_type="application/json",
        )


def lapse_alerts(person):
    return Alert.objects.filter(service_user=person, kind=AlertKind.RETITRATION_REQUIRED)


def test_more_than_three_days_since_the_last_dose_needs_retitration_whatever_the_count(
    cast, mornings_only
):
    person = mornings_only
    # Wednesday and Thursday missed: 2 in a row, under the threshold of 3. On Friday
    # at 09:30 the last dose was 3 days and 30 minutes ago.
    refused = assess_through_the_api(cast, person, london(FRI, 9, 30))
    assert refused.status_code == 400
    assert refused.json()["code"] == "retitration_required"
    person.refresh_from_db()
    assert (person.status, person.consecutive_not_taken) == (Status.RETITRATION_REQUIRED, 2)
    (alert,) = lapse_alerts(person)
    assert "No dose for longer than the clinic's re-titration days" in alert.detail
    # The count reaching 3 when Friday's window closes names the same block: one alert.
    missed_sessions_scan(now=london(FRI, 12))
    person.refresh_from_db()
    assert person.consecutive_not_taken == 3
    assert lapse_alerts(person).count() == 1


def test_three_days_to_the_minute_is_not_yet_a_lapse(cast, mornings_only):
    assert assess_through_the_api(cast, mornings_only, london(FRI, 9)).status_code == 200


def test_the_days_are_the_clinics(cast):
    person = on_mornings_only(cast, retitration_days=5)
    # Wednesday to Friday missed would be the threshold: dosed again on Wednesday.
    give_dose(cast, am(person, DAYS[1]), london(DAYS[1], 9))
    # On Saturday the last dose was 3 days 30 minutes ago: under 5 days.
    assert assess_through_the_api(cast, person, london(DAYS[4], 9, 30)).status_code == 200


def test_a_retitration_prescription_counts_tolerance_from_itself(cast, mornings_only):
    person = mornings_only
    missed_sessions_scan(now=london(FRI, 12))
    person.refresh_from_db()
    assert person.status == Status.RETITRATION_REQUIRED
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "30"},
        reason="Restart at half",
        now=london(FRI, 13),
    )
    person.refresh_from_db()
    # The last dose is long past, but the prescription restarted the clock.
    assert person.status == Status.RETITRATION
    assert assess_through_the_api(cast, person, london(DAYS[4], 9)).status_code == 200


def suspended_wednesday_and_thursday(cast, person, **ending):
    suspension = suspension_start(
        service_user=person,
        kind="hospital",
        starts_on=DAYS[1],
        reason="Admitted",
        recorded_by=cast.nurse,
        now=london(DAYS[1], 7),
    )
    return suspension_end(
        suspension=suspension,
        returned_on=FRI,
        ended_by=cast.prescriber,
        now=london(FRI, 9, 30),
        **ending,
    )


def test_a_short_suspension_after_a_long_gap_needs_retitration_on_return(cast):
    person = on_mornings_only(cast, retitration_threshold=5)
    ended = suspended_wednesday_and_thursday(cast, person)
    # Three sessions away, under the clinic's threshold of 5, but the last dose was
    # 3 days 30 minutes ago.
    assert ended.sessions_missed == 3
    person.refresh_from_db()
    assert person.status == Status.RETITRATION_REQUIRED
    (alert,) = lapse_alerts(person)
    assert "No dose for longer than the clinic's re-titration days" in alert.detail


def test_opioid_cover_for_the_gap_counts_tolerance_from_the_return(cast):
    person = on_mornings_only(cast, retitration_threshold=5)
    suspended_wednesday_and_thursday(cast, person, opioid_cover_confirmed=True)
    person.refresh_from_db()
    assert person.status == Status.MAINTENANCE
    assert not lapse_alerts(person).exists()
    assert assess_through_the_api(cast, person, london(DAYS[4], 9)).status_code == 200
