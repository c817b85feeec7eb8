"""A three-dose day (issue 19.6): with an evening slot in the clinic's policy, each
rule of the dosing day counts three slots. Sessions are generated for all three; the
4-hour interval runs from the PM injection to the evening one; the daily ceiling and
the prescribed daily maximum add up three doses; the missed-dose scan settles the
evening session; and three sessions not taken in a row, the evening one among them,
call for re-titration. The board and the attendance dashboard with three slots are in
tests/eligibility/test_policy_views.py (test_an_evening_slot_runs_through_the_clinic_day)."""

import datetime as dt

import pytest

from dosing.assessment import session_assess
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, SessionStatus
from dosing.prescribing import prescription_issue
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from eligibility.policy_rules import SlotSpec
from eligibility.services import policy_issue
from tests.dosing.room_setup import DAY, SET_UP, give_dose, inject
from tests.factories import TRANSFER, make_service_user
from tests.helpers import refused
from tests.monitoring.scan_setup import london

pytestmark = pytest.mark.django_db

NEXT = DAY + dt.timedelta(days=1)
THREE = [
    SlotSpec("AM", dt.time(8), dt.time(11, 30)),
    SlotSpec("PM", dt.time(13), dt.time(17, 30)),
    SlotSpec("EVE", dt.time(19), dt.time(21)),
]


@pytest.fixture
def evening(cast):
    """Clinic A's policy with an evening slot, from before the set-up."""
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=None,
        reason="An evening dose for people in work",
        effective_from=SET_UP - dt.timedelta(days=1),
        now=SET_UP - dt.timedelta(days=2),
        slots=THREE,
    )


def on_three(cast, doses=("100", "100", "100"), status=Status.MAINTENANCE, **prescribed):
    person = make_service_user(cast.clinic_a, status, by=cast.prescriber, now=SET_UP)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses=dict(zip(("AM", "PM", "EVE"), doses, strict=True)),
        **TRANSFER,
        reason="Three doses a day",
        now=SET_UP,
        **prescribed,
    )
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY, NEXT], now=SET_UP)
    return person


def slot(person, day, code) -> DoseSession:
    return DoseSession.objects.get(service_user=person, clinic_day=day, slot_code=code)


def test_three_sessions_a_day_are_generated_each_in_its_window(cast, evening):
    person = on_three(cast)
    sessions = DoseSession.objects.filter(service_user=person, clinic_day=DAY).order_by("opens_at")
    assert [(s.slot_code, s.opens_at, s.closes_at) for s in sessions] == [
        ("AM", london(DAY, 8), london(DAY, 11, 30)),
        ("PM", london(DAY, 13), london(DAY, 17, 30)),
        ("EVE", london(DAY, 19), london(DAY, 21)),
    ]


def test_the_evening_injection_waits_four_hours_after_the_pm_one(cast, evening):
    person = on_three(cast)
    give_dose(cast, slot(person, DAY, "AM"), london(DAY, 9), mg="100")
    give_dose(cast, slot(person, DAY, "PM"), london(DAY, 16), mg="100")
    evening_session = slot(person, DAY, "EVE")
    session_assess(
        session=evening_session,
        nurse=cast.nurse,
        identity_confirmed=True,
        poss="1",
        now=london(DAY, 19, 50),
    )
    error = refused(
        "interval_too_short",
        inject,
        cast=cast,
        session=evening_session,
        when=london(DAY, 19, 55),
        drawn="100",
    )
    assert "next may start at 20:00" in error.message
    evening_session.refresh_from_db()
    inject(cast, evening_session, london(DAY, 20), drawn="100")
    evening_session.refresh_from_db()
    assert evening_session.status == SessionStatus.ADMINISTERED
    assert (
        DoseSession.objects.filter(
            service_user=person, clinic_day=DAY, status=SessionStatus.ADMINISTERED
        ).count()
        == 3
    )


def test_the_daily_ceiling_adds_up_all_three_doses(cast, evening):
    error = refused(
        "daily_total_above_ceiling",
        on_three,
        cast=cast,
        doses=("400", "400", "300"),
    )
    assert "add up to 1100 mg" in error.message
    person = on_three(cast, doses=("300", "300", "300"))
    assert person.prescriptions.get().max_daily_total_mg == 900


def test_the_prescribed_daily_maximum_holds_across_three_sessions(cast, evening):
    """A daily maximum of the three doses without their top-ups: after a morning
    top-up, the evening dose that would pass it is refused."""
    person = on_three(cast, topup_max_mg="20", max_daily_total_mg="300")
    give_dose(cast, slot(person, DAY, "AM"), london(DAY, 8), mg="100")
    inject(cast, slot(person, DAY, "AM"), london(DAY, 8, 20), drawn="20", topup=True)
    give_dose(cast, slot(person, DAY, "PM"), london(DAY, 13), mg="100")
    error = refused(
        "daily_total_exceeded",
        give_dose,
        cast=cast,
        session=slot(person, DAY, "EVE"),
        when=london(DAY, 19),
        mg="100",
    )
    assert "above the prescribed daily maximum of 300 mg" in error.message
    inject(cast, slot(person, DAY, "EVE"), london(DAY, 19, 5), drawn="80")  # assessed above
    assert slot(person, DAY, "EVE").status == SessionStatus.ADMINISTERED


def test_a_missed_evening_then_morning_after_a_missed_pm_calls_for_re_titration(cast, evening):
    person = on_three(cast)
    give_dose(cast, slot(person, DAY, "AM"), london(DAY, 9), mg="100")
    missed_sessions_scan(now=london(DAY, 17, 30))
    missed_sessions_scan(now=london(DAY, 21))
    assert slot(person, DAY, "EVE").status == SessionStatus.MISSED
    person.refresh_from_db()
    assert (person.consecutive_not_taken, person.status) == (2, Status.MAINTENANCE)
    missed_sessions_scan(now=london(NEXT, 11, 30))
    person.refresh_from_db()
    assert (person.consecutive_not_taken, person.status) == (3, Status.RETITRATION_REQUIRED)


def test_one_late_scan_settles_all_three_slots_the_same_way(cast, evening):
    """The scan run once the next morning, after all three windows closed, counts as
    if it had run at each window's close."""
    person = on_three(cast)
    missed_sessions_scan(now=london(NEXT, 7))
    statuses = set(
        DoseSession.objects.filter(service_user=person, clinic_day=DAY).values_list(
            "status", flat=True
        )
    )
    assert statuses == {SessionStatus.MISSED}
    person.refresh_from_db()
    assert (person.consecutive_not_taken, person.status) == (3, Status.RETITRATION_REQUIRED)
