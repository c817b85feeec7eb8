"""The dosing room's hard stops, each at its boundary, and the consecutive count."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.errors import Conflict, RuleViolation
from core.roles import Role
from dosing.assessment import session_assess
from dosing.models import Administration, DoseSession, SessionStatus
from dosing.prescribing import prescription_issue
from dosing.room import dose_administer, session_decline, session_observe, session_withhold
from dosing.selectors import last_administered_session_dose
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from eligibility.services import clinic_create, service_user_transition
from tests.factories import PASSWORD, TRANSFER, make_service_user, make_staff

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 2, 10)
OPENED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def at(hh, mm=0, ss=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hh, mm, ss), tzinfo=LONDON)


@pytest.fixture
def clinic():
    return clinic_create(
        name="Dosing clinic",
        now=OPENED,
        breath_caution_threshold=Decimal("9"),
        breath_withhold_threshold=Decimal("22"),
    )


@pytest.fixture
def staff(clinic):
    class Staff:
        nurse = make_staff(clinic, Role.NURSE)
        nurse2 = make_staff(clinic, Role.NURSE)
        hca = make_staff(clinic, Role.HCA)
        prescriber = make_staff(clinic, Role.PRESCRIBER)

    return Staff


def person_on(clinic, staff, *, flags=(), topup="20", daily=None, routes=("iv",)):
    person = make_service_user(
        clinic, Status.TITRATION, by=staff.prescriber, now=OPENED, flags=flags
    )
    prescription_issue(
        service_user=person,
        prescriber=staff.prescriber,
        slot_doses={"AM": "100", "PM": "100"},
        topup_max_mg=topup,
        max_daily_total_mg=daily,
        **TRANSFER,
        route_iv="iv" in routes,
        route_im="im" in routes,
        reason="Set-up",
        now=OPENED,
    )
    service_user_transition(
        service_user=person,
        to_status=Status.MAINTENANCE,
        changed_by=staff.prescriber,
        reason="Stable",
        now=OPENED,
    )
    dose_sessions_generate(clinic=clinic, days=[DAY, DAY + dt.timedelta(days=1)], now=OPENED)
    return person


def session(person, slot="AM", day=DAY):
    return DoseSession.objects.get(service_user=person, slot_code=slot, clinic_day=day)


def assess(s, staff, when, poss="1", **kwargs):
    return session_assess(
        session=s, nurse=staff.nurse, identity_confirmed=True, poss=poss, now=when, **kwargs
    )


def inject(s, staff, when, mg="100", drawn=None, topup=False, witness=None, **kwargs):
    witness = witness or staff.hca
    kwargs.setdefault("route", "iv")
    kwargs.setdefault("site", "arm")
    return dose_administer(
        session=s,
        nurse=staff.nurse,
        witness_username=witness.username,
        witness_password=kwargs.pop("witness_password", PASSWORD),
        drawn_mg=drawn or mg,
        injected_mg=mg,
        topup=topup,
        now=when,
        **kwargs,
    )


def refused(code, call, *args, **kwargs):
    with pytest.raises(RuleViolation) as error:
        call(*args, **kwargs)
    assert error.value.code == code, error.value.message
    return error.value


# The whole session.


def test_assess_inject_observe_completes_the_session(clinic, staff):
    person = person_on(clinic, staff)
    s = session(person)
    assess(s, staff, at(9))
    assert s.status == SessionStatus.ASSESSED
    given = inject(s, staff, at(9, 5), mg="95", drawn="100")
    assert given.waste_mg == Decimal("5") and given.witness == staff.hca
    assert s.status == SessionStatus.ADMINISTERED
    session_observe(session=s, observer=staff.nurse, outcome="no_concerns", now=at(9, 25))
    assert s.status == SessionStatus.OBSERVED
    assert last_administered_session_dose(service_user=person) == Decimal("95")


# Sedation.


@pytest.mark.parametrize("poss", ["3", "4"])
def test_poss_3_or_4_withholds_the_dose(clinic, staff, poss):
    person = person_on(clinic, staff)
    s = session(person)
    assessment = assess(s, staff, at(9), poss=poss)
    assert assessment.poss == poss
    assert (s.status, s.outcome_reason) == (SessionStatus.WITHHELD, "sedation")
    assert f"POSS {poss}" in s.outcome_note
    refused("session_not_ready", inject, s, staff, at(9, 5))
    person.refresh_from_db()
    assert person.consecutive_not_taken == 1


def test_poss_2_needs_a_reason_to_go_on(clinic, staff):
    s = session(person_on(clinic, staff))
    error = refused("caution_reason_required", assess, s, staff, at(9), poss="2")
    assert "POSS 2" in error.message
    assess(s, staff, at(9), poss="2", caution_reason="Roused fully, talking clearly")
    assert s.status == SessionStatus.ASSESSED


# Breath alcohol.


def test_breath_at_the_withhold_threshold_withholds(clinic, staff):
    s = session(person_on(clinic, staff, flags=["alcohol"]))
    assess(s, staff, at(9), breath_mcg_per_100ml="22")
    assert (s.status, s.outcome_reason) == (SessionStatus.WITHHELD, "alcohol")
    assert "22 µg/100 ml" in s.outcome_note


def test_breath_just_below_withhold_but_at_caution_needs_a_reason(clinic, staff):
    s = session(person_on(clinic, staff, flags=["alcohol"]))
    error = refused("caution_reason_required", assess, s, staff, at(9), breath_mcg_per_100ml="21.9")
    assert "caution threshold 9" in error.message
    assess(s, staff, at(9), breath_mcg_per_100ml="21.9", caution_reason="Clinically sober")
    assert s.status == SessionStatus.ASSESSED


def test_breath_below_caution_goes_on(clinic, staff):
    s = session(person_on(clinic, staff, flags=["alcohol"]))
    assess(s, staff, at(9), breath_mcg_per_100ml="8.9")
    assert s.status == SessionStatus.ASSESSED


def test_an_alcohol_flagged_person_needs_a_reading_before_the_first_dose_only(clinic, staff):
    person = person_on(clinic, staff, flags=["alcohol"])
    refused("breath_required", assess, session(person), staff, at(9))
    assess(session(person), staff, at(9), breath_mcg_per_100ml="0")
    inject(session(person), staff, at(9, 5))
    assess(session(person, "PM"), staff, at(14))  # not the first dose of the day
    assert session(person, "PM").status == SessionStatus.ASSESSED


def test_no_dose_to_an_alcohol_flagged_person_while_thresholds_are_unset(staff):
    bare = clinic_create(name="No thresholds", now=OPENED)
    crew = type("Crew", (), {})()
    crew.nurse = make_staff(bare, Role.NURSE)
    crew.hca = make_staff(bare, Role.HCA)
    crew.prescriber = make_staff(bare, Role.PRESCRIBER)
    person = person_on(bare, crew, flags=["alcohol"])
    error = refused(
        "breath_thresholds_unset", assess, session(person), crew, at(9), breath_mcg_per_100ml="0"
    )
    assert "clinical lead must set them" in error.message


# Time: the window and the minimum interval.


@pytest.mark.parametrize(
    ("when", "ok"),
    [(at(7, 59, 59), False), (at(8), True), (at(11, 29, 59), True), (at(11, 30), False)],
)
def test_assessment_only_inside_the_window(clinic, staff, when, ok):
    s = session(person_on(clinic, staff))
    if ok:
        assess(s, staff, when)
    elif when < s.opens_at:
        error = refused("outside_window", assess, s, staff, when)
        assert "08:00 to 11:30" in error.message
    else:
        # Once the window has closed the session is missed, whether or not the scan
        # has run: the assessment settles it first.
        error = refused("session_not_scheduled", assess, s, staff, when)
        assert "already missed. Its window, 08:00 to 11:30, closed" in error.message


def test_the_next_injection_waits_four_hours_after_the_last(clinic, staff):
    person = person_on(clinic, staff)
    assess(session(person), staff, at(9, 30))
    inject(session(person), staff, at(9, 30))
    pm = session(person, "PM")
    assess(pm, staff, at(13))
    error = refused("interval_too_short", inject, pm, staff, at(13, 29, 59), mg="100")
    assert "next may start at 13:30" in error.message and "4 h" in error.message
    inject(pm, staff, at(13, 30))
    assert pm.status == SessionStatus.ADMINISTERED


# The prescription.


def test_a_dose_above_the_prescription_is_refused(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    error = refused("dose_above_prescription", inject, s, staff, at(9, 5), mg="100.01")
    assert "prescribed AM dose of 100 mg" in error.message
    inject(s, staff, at(9, 5), mg="100")


def test_a_route_the_prescription_does_not_allow_is_refused(clinic, staff):
    s = session(person_on(clinic, staff, routes=("iv",)))
    assess(s, staff, at(9))
    refused("route_not_prescribed", inject, s, staff, at(9, 5), route="im", site="deltoid")


def test_a_lower_limb_iv_needs_the_risk_discussion(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    refused("risk_discussion_required", inject, s, staff, at(9, 5), site="leg")
    inject(s, staff, at(9, 5), site="leg", risk_discussion="Discussed DVT and ulcer risk")


def test_injected_cannot_exceed_drawn(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    refused("injected_above_drawn", inject, s, staff, at(9, 5), mg="90", drawn="80")


# Top-ups.


def test_a_top_up_comes_after_the_gap_and_within_the_allowance(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    inject(s, staff, at(9))
    error = refused("topup_too_soon", inject, s, staff, at(9, 19, 59), mg="20", topup=True)
    assert "not before 09:20" in error.message
    refused("topup_above_allowance", inject, s, staff, at(9, 20), mg="20.01", topup=True)
    given = inject(s, staff, at(9, 20), mg="20", topup=True)
    assert given.sequence == 2
    with pytest.raises(Conflict):
        inject(s, staff, at(9, 45), mg="5", topup=True)
    assert last_administered_session_dose(service_user=s.service_user) == Decimal("120")


def test_no_top_up_without_an_allowance(clinic, staff):
    s = session(person_on(clinic, staff, topup=None))
    assess(s, staff, at(9))
    inject(s, staff, at(9))
    refused("topup_not_allowed", inject, s, staff, at(9, 30), mg="5", topup=True)


def test_the_prescribed_daily_maximum_holds_across_sessions(clinic, staff):
    person = person_on(clinic, staff, daily="230")
    am = session(person)
    assess(am, staff, at(9))
    inject(am, staff, at(9))
    inject(am, staff, at(9, 20), mg="20", topup=True)
    pm = session(person, "PM")
    assess(pm, staff, at(13, 30))
    inject(pm, staff, at(13, 30))
    error = refused("daily_total_exceeded", inject, pm, staff, at(13, 50), mg="10.01", topup=True)
    assert "above the prescribed daily maximum of 230 mg" in error.message
    inject(pm, staff, at(13, 50), mg="10", topup=True)


# The witness.


def test_the_witness_confirms_with_their_own_password(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    refused("witness_not_confirmed", inject, s, staff, at(9, 5), witness_password="guess")
    refused("witness_is_nurse", inject, s, staff, at(9, 5), witness=staff.nurse)
    refused("witness_not_allowed", inject, s, staff, at(9, 5), witness=staff.prescriber)
    other_clinic = make_staff(clinic_create(name="Elsewhere", now=OPENED), Role.HCA)
    refused("witness_not_confirmed", inject, s, staff, at(9, 5), witness=other_clinic)
    inject(s, staff, at(9, 5), witness=staff.nurse2)
    assert not Administration.objects.filter(witness=staff.hca).exists()


# Status and repeats.


def test_no_dose_while_retitration_is_required(clinic, staff):
    person = person_on(clinic, staff)
    service_user_transition(
        service_user=person,
        to_status=Status.RETITRATION_REQUIRED,
        changed_by=None,
        reason="Three missed",
        now=at(8),
    )
    error = refused("retitration_required", assess, session(person), staff, at(9))
    assert "re-titration prescription" in error.message


def test_the_same_dose_cannot_be_recorded_twice(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    inject(s, staff, at(9))
    with pytest.raises(Conflict) as error:
        inject(s, staff, at(9, 1))
    assert error.value.code == "already_recorded"
    assert Administration.objects.count() == 1


# Observation.


def test_observation_lasts_twenty_minutes_from_the_last_injection(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    inject(s, staff, at(9))
    inject(s, staff, at(9, 20), mg="20", topup=True)
    error = refused(
        "observation_too_soon",
        session_observe,
        session=s,
        observer=staff.hca,
        outcome="no_concerns",
        now=at(9, 39, 59),
    )
    assert "from 09:40" in error.message
    session_observe(session=s, observer=staff.hca, outcome="no_concerns", now=at(9, 40))


def test_an_adverse_event_is_recorded_with_naloxone_and_its_time(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    inject(s, staff, at(9))
    refused(
        "adverse_event_marked_no_concerns",
        session_observe,
        session=s,
        observer=staff.nurse,
        outcome="no_concerns",
        overdose=True,
        now=at(9, 30),
    )
    refused(
        "naloxone_time_required",
        session_observe,
        session=s,
        observer=staff.nurse,
        outcome="adverse_event",
        details="Resp rate 6",
        naloxone_mg="0.4",
        now=at(9, 30),
    )
    observation = session_observe(
        session=s,
        observer=staff.nurse,
        outcome="adverse_event",
        details="Resp rate 6",
        overdose=True,
        naloxone_mg="0.4",
        naloxone_at=at(9, 12),
        ambulance_called=True,
        now=at(9, 30),
    )
    assert observation.naloxone_mg == Decimal("0.4")


# The consecutive count and re-titration (threshold 3).

OUTCOMES = {
    "W": lambda s, staff, when: session_withhold(
        session=s, nurse=staff.nurse, reason="clinical", now=when
    ),
    "D": lambda s, staff, when: session_decline(session=s, nurse=staff.nurse, now=when),
    "A": lambda s, staff, when: (assess(s, staff, when), inject(s, staff, when)),
    "E": None,  # excused: suspended from generation, below
}


@pytest.mark.parametrize(
    ("sequence", "count", "status"),
    [
        ("W", 1, Status.MAINTENANCE),
        ("WD", 2, Status.MAINTENANCE),
        ("WDW", 3, Status.RETITRATION_REQUIRED),
        ("WDA", 0, Status.MAINTENANCE),
        ("AWD", 2, Status.MAINTENANCE),
        ("WAWD", 2, Status.MAINTENANCE),
    ],
)
def test_consecutive_sessions_not_taken(clinic, staff, sequence, count, status):
    person = person_on(clinic, staff)
    dose_sessions_generate(clinic=clinic, days=[DAY + dt.timedelta(days=2)], now=OPENED)
    slots = [(DAY + dt.timedelta(days=d), slot) for d in range(3) for slot in ("AM", "PM")]
    for (day, slot), outcome in zip(slots, sequence, strict=False):
        when = at(9, day=day) if slot == "AM" else at(14, day=day)
        OUTCOMES[outcome](session(person, slot, day), staff, when)
    person.refresh_from_db()
    assert (person.consecutive_not_taken, person.status) == (count, status)


def test_withholding_for_other_needs_a_note(clinic, staff):
    s = session(person_on(clinic, staff))
    refusal = refused(
        "reason_required", session_withhold, session=s, nurse=staff.nurse, reason="other", now=at(9)
    )
    assert refusal.field == "note"  # shown beside the note, where the reason is typed
    session_withhold(session=s, nurse=staff.nurse, reason="other", note="Fire alarm", now=at(9))
    with pytest.raises(Conflict):
        session_decline(session=s, nurse=staff.nurse, now=at(9, 5))


# Issue: prescribing limits measured against the dose actually given.


def test_a_titration_rise_is_bounded_by_the_last_administered_dose(clinic, staff):
    person = make_service_user(clinic, Status.TITRATION, by=staff.prescriber, now=OPENED)
    prescription_issue(
        service_user=person,
        prescriber=staff.prescriber,
        slot_doses={"AM": "15", "PM": "15"},
        reason="Induction",
        now=OPENED,
    )
    dose_sessions_generate(clinic=clinic, days=[DAY], now=OPENED)
    assess(session(person), staff, at(9))
    inject(session(person), staff, at(9), mg="10", drawn="15")  # only 10 mg tolerated
    issue = {
        "service_user": person,
        "prescriber": staff.prescriber,
        "reason": "Step",
        "now": at(12),
    }
    with pytest.raises(RuleViolation) as error:
        prescription_issue(slot_doses={"AM": "15.01"}, **issue)
    assert error.value.code == "titration_rise_above_limit"
    assert "from 10 mg (the last dose given)" in error.value.message
    assert "most allowed is 15 mg" in error.value.message
    assert prescription_issue(slot_doses={"AM": "15", "PM": "15"}, **issue).version == 2


def test_retitration_restarts_at_half_the_last_administered_session_dose(clinic, staff):
    from dosing.selectors import retitration_suggestion

    person = person_on(clinic, staff)
    s = session(person)
    assess(s, staff, at(9))
    inject(s, staff, at(9), mg="100")
    inject(s, staff, at(9, 20), mg="20", topup=True)
    assert retitration_suggestion(service_user=person, at=at(12)) == {
        "AM": Decimal("60.00"),
        "PM": Decimal("60.00"),
    }


def test_excused_sessions_neither_count_nor_reset(clinic, staff):
    from dosing.missed import consecutive_counts_apply
    from eligibility.models import ServiceUser

    person = person_on(clinic, staff)
    session_withhold(session=session(person), nurse=staff.nurse, reason="clinical", now=at(9))
    excused = session(person, "PM")
    excused.status = SessionStatus.EXCUSED  # as a suspension or confirmed cover would
    excused.save()
    consecutive_counts_apply(ServiceUser.objects.filter(pk=person.pk), now=at(14))
    person.refresh_from_db()
    assert person.consecutive_not_taken == 1
    session_decline(
        session=session(person, "AM", DAY + dt.timedelta(days=1)),
        nurse=staff.nurse,
        now=at(9, day=DAY + dt.timedelta(days=1)),
    )
    person.refresh_from_db()
    assert person.consecutive_not_taken == 2


def test_the_weekly_review_summarises_the_weeks_sessions(clinic, staff):
    from dosing.selectors import review_summary

    person = person_on(clinic, staff, flags=["alcohol"])
    assess(session(person), staff, at(9), breath_mcg_per_100ml="3")
    inject(session(person), staff, at(9))
    assess(session(person, "PM"), staff, at(14), poss="3")
    summary = review_summary(service_user=person, now=at(18))
    assert summary["sessions_by_outcome"] == [("Administered", 1), ("Withheld", 1)]
    assert [a.injected_mg for a in summary["doses_given"]] == [Decimal("100")]
    assert [(x.poss, x.breath_mcg_per_100ml) for x in summary["assessments"]] == [
        ("1", Decimal("3")),
        ("3", None),
    ]
    assert "POSS 3" in summary["withholds"][0].outcome_note


def test_wrong_witness_passwords_lock_that_witness_like_a_login(clinic, staff):
    s = session(person_on(clinic, staff))
    assess(s, staff, at(9))
    for minute in range(5):
        refused("witness_not_confirmed", inject, s, staff, at(9, minute), witness_password="guess")
    error = refused("witness_locked", inject, s, staff, at(9, 6))  # even the right one
    assert "locked for 30 minutes" in error.message
    inject(s, staff, at(9, 6), witness=staff.nurse2)  # another witness can step in
    assert s.status == SessionStatus.ADMINISTERED


def test_the_witness_lock_ends_after_the_cool_off_and_success_clears_it(clinic, staff):
    from dosing.models import WitnessFailure

    person = person_on(clinic, staff)
    s = session(person)
    assess(s, staff, at(9))
    for minute in range(5):
        refused("witness_not_confirmed", inject, s, staff, at(9, minute), witness_password="guess")
    inject(s, staff, at(9, 35))  # 31 minutes after the first failure
    assert not WitnessFailure.objects.filter(username=staff.hca.username).exists()
