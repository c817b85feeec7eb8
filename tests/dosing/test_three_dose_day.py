"""A three-dose day (issue 19.6): with an evening slot in the clinic's policy, each
rule of the dosing day counts three slots. Sessions are generated for all three; the
4-hour interval runs from the PM injection to the evening one; the daily ceiling and
the prescribed daily maximum add up three doses; the missed-dose scan settles the
evening session; and three sessions not taken in a row, the evening one among them,
call for re-titration. The evening dose taken home counts in the day's ceiling, and a
guest stay takes all three slots to a host that has them. The board and the
attendance dashboard with three slots are in tests/eligibility/test_policy_views.py
(test_an_evening_slot_runs_through_the_clinic_day)."""

import datetime as dt
from decimal import Decimal

import pytest

from core.roles import Role
from dosing.assessment import session_assess
from dosing.guest import guest_stay_accept, guest_stay_authorise
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, SessionStatus
from dosing.prescribing import prescription_issue
from dosing.selectors import retitration_suggestion
from dosing.sessions import dose_sessions_generate
from dosing.take_home import take_home_prescribe
from dosing.take_home_supply import take_home_supply
from eligibility.models import Status, TakeHomeCriterion
from eligibility.policy_rules import SlotSpec
from eligibility.services import policy_issue
from tests.dosing.room_setup import DAY, SET_UP, give_dose, inject, register_stock
from tests.factories import PASSWORD, TRANSFER, make_service_user, make_staff
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


def take_home_without_criteria(cast):
    """Clinic A switches the take-home criteria off, keeping its three slots."""
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=None,
        reason="Take-home without criteria",
        effective_from=SET_UP,
        now=SET_UP - dt.timedelta(hours=1),
        take_home_levels=dict.fromkeys(TakeHomeCriterion.values, "off"),
    )


def evening_at_home(cast, person, dose="300"):
    return take_home_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        route="iv",
        dose_mg=dose,
        slot_codes=["EVE"],
        weekdays=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        valid_from=DAY,
        valid_to=DAY + dt.timedelta(days=13),
        reason="Works evenings",
        now=london(DAY, 8),
    )


def test_the_evening_dose_taken_home_with_the_day_under_the_ceiling(cast, evening):
    take_home_without_criteria(cast)
    person = on_three(cast, doses=("300", "300", "300"))
    # The evening at home at 400 mg would make the day 1,000 mg with the room's two,
    # above the prescription's daily maximum of the three doses.
    error = refused(
        "take_home_above_daily_total", evening_at_home, cast=cast, person=person, dose="400"
    )
    assert "900" in error.message
    evening_at_home(cast, person)
    register_stock(cast, ampoules=20)
    given = take_home_supply(
        service_user=person,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        through=NEXT,
        now=london(DAY, 9, 30),
    )
    assert [(d.clinic_day, d.slot_code) for d in given.doses.order_by("clinic_day")] == [
        (DAY, "EVE"),
        (NEXT, "EVE"),
    ]
    assert given.units == 6  # 300 mg in 100 mg ampoules, twice
    statuses = {
        (s.clinic_day, s.slot_code): s.status
        for s in DoseSession.objects.filter(service_user=person)
    }
    assert statuses[DAY, "EVE"] == statuses[NEXT, "EVE"] == SessionStatus.TAKE_HOME
    assert statuses[DAY, "AM"] == statuses[DAY, "PM"] == SessionStatus.SCHEDULED
    # The room's AM and PM are given; the scan the next morning settles nothing more:
    # the evening at home counts as taken, and nothing is missed.
    give_dose(cast, slot(person, DAY, "AM"), london(DAY, 9, 40), mg="300")
    give_dose(cast, slot(person, DAY, "PM"), london(DAY, 14), mg="300")
    missed_sessions_scan(now=london(NEXT, 7))
    person.refresh_from_db()
    assert person.consecutive_not_taken == 0
    assert not DoseSession.objects.filter(service_user=person, status="missed").exists()


def test_a_guest_stay_with_an_evening_slot_needs_the_hosts_evening(cast, evening):
    person = on_three(cast)
    manager_b = make_staff(cast.clinic_b, Role.MANAGER, username="manager_b")

    def authorise():
        return guest_stay_authorise(
            service_user=person,
            prescriber=cast.prescriber,
            host_clinic=cast.clinic_b,
            first_day=NEXT,
            last_day=NEXT,
            reason="Away",
            now=london(DAY, 8),
        )

    error = refused("host_slots_differ", authorise)
    assert "EVE" in error.message
    policy_issue(
        clinic=cast.clinic_b,
        issued_by=None,
        reason="An evening dose too",
        effective_from=london(DAY, 7),
        now=london(DAY, 6),
        slots=THREE,
    )
    guest_stay_accept(stay=authorise(), manager=manager_b, now=london(DAY, 9))
    at_host = DoseSession.objects.filter(service_user=person, clinic=cast.clinic_b)
    assert sorted(at_host.values_list("slot_code", flat=True)) == ["AM", "EVE", "PM"]
    assert set(
        DoseSession.objects.filter(
            service_user=person, clinic=cast.clinic_a, clinic_day=NEXT
        ).values_list("status", flat=True)
    ) == {SessionStatus.GUEST}


def test_re_titration_restarts_all_three_slots_at_half_and_doses_the_evening(cast, evening):
    """After the three misses, the suggestion halves each of the three slots; the
    re-titration prescription doses all three, the evening one included."""
    person = on_three(cast)
    give_dose(cast, slot(person, DAY, "AM"), london(DAY, 9), mg="100")
    missed_sessions_scan(now=london(NEXT, 11, 30))  # PM, EVE, then the next AM
    person.refresh_from_db()
    assert person.status == Status.RETITRATION_REQUIRED
    suggested = retitration_suggestion(service_user=person, at=london(NEXT, 12))
    assert suggested == {"AM": Decimal("50.00"), "PM": Decimal("50.00"), "EVE": Decimal("50.00")}
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={code: str(mg) for code, mg in suggested.items()},
        reason="Re-titration after three missed",
        now=london(NEXT, 12),
    )
    person.refresh_from_db()
    assert person.status == Status.RETITRATION
    give_dose(cast, slot(person, NEXT, "PM"), london(NEXT, 13, 30), mg="50")
    give_dose(cast, slot(person, NEXT, "EVE"), london(NEXT, 19, 30), mg="50")
    assert slot(person, NEXT, "EVE").status == SessionStatus.ADMINISTERED
    person.refresh_from_db()
    assert person.consecutive_not_taken == 0
