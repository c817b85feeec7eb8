"""Guest dosing (issue 19.5): a stay at another clinic, authorised at home, accepted by
the host, dosed from the host's register; the missed-dose rules follow the person."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from alerts.models import Alert, AlertKind
from core.errors import Conflict, RuleViolation
from dosing.assessment import session_assess
from dosing.guest import guest_stay_accept, guest_stay_authorise, guest_stay_end
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, GuestStay, RegisterEntry, SessionStatus
from dosing.room import dose_administer
from dosing.selectors import board_sessions
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from eligibility.services import SlotSpec, policy_issue
from tests.dosing.guest_setup import EVE, NEXT, at, host_staff
from tests.dosing.room_setup import DAY, on_prescription
from tests.factories import PASSWORD


@pytest.fixture
def host(cast):
    return host_staff(cast)


def authorised(cast, person, first=DAY, last=NEXT, now=EVE):
    return guest_stay_authorise(
        service_user=person,
        prescriber=cast.prescriber,
        host_clinic=cast.clinic_b,
        first_day=first,
        last_day=last,
        reason="Visiting family in Leeds",
        now=now,
    )


def accepted(cast, host, person, **days):
    stay = authorised(cast, person, **days)
    return guest_stay_accept(
        stay=stay, manager=host["manager"], now=days.get("now", EVE) + dt.timedelta(hours=1)
    )


def sessions(person, day, slot):
    return {
        s.clinic.name: s.status
        for s in DoseSession.objects.filter(service_user=person, clinic_day=day, slot_code=slot)
    }


def give_at_host(cast, host, session, when):
    session_assess(session=session, nurse=cast.nurse_b, identity_confirmed=True, poss="1", now=when)
    return dose_administer(
        session=session,
        nurse=cast.nurse_b,
        witness_username=host["hca"].username,
        witness_password=PASSWORD,
        drawn_mg="60",
        injected_mg="60",
        route="iv",
        site="arm",
        now=when,
    )


def test_an_accepted_stay_moves_the_sessions_to_the_host(cast, host):
    person = on_prescription(cast)
    stay = accepted(cast, host, person)
    # The day's sessions, scheduled at home a month before, moved on acceptance; the
    # next day's come from generation in both clinics, in either order.
    dose_sessions_generate(clinic=cast.clinic_b, days=[NEXT], now=EVE)
    dose_sessions_generate(clinic=cast.clinic_a, days=[NEXT], now=EVE)
    for day in (DAY, NEXT):
        for slot in ("AM", "PM"):
            assert sessions(person, day, slot) == {"Clinic A": "guest", "Clinic B": "scheduled"}
    assert DoseSession.objects.filter(guest_stay=stay).count() == 8
    # A second run of generation, in either clinic, adds nothing.
    assert dose_sessions_generate(clinic=cast.clinic_a, days=[DAY, NEXT], now=EVE) == 0
    assert dose_sessions_generate(clinic=cast.clinic_b, days=[DAY, NEXT], now=EVE) == 0
    # The host's board has the person with the home prescription's dose; the home
    # board says where they are, and does not expect them.
    host_row = next(s for s in board_sessions(clinic=cast.clinic_b, day=DAY, slot_code="AM"))
    assert (host_row.service_user, host_row.dose_mg) == (person, Decimal("60"))
    home_row = board_sessions(clinic=cast.clinic_a, day=DAY, slot_code="AM")[0]
    assert home_row.status == SessionStatus.GUEST
    assert home_row.guest_stay.host_clinic == cast.clinic_b


def test_never_two_sessions_that_can_be_dosed_for_one_slot(cast, host):
    person = on_prescription(cast)
    accepted(cast, host, person)
    home = DoseSession.objects.get(
        service_user=person, clinic=cast.clinic_a, clinic_day=DAY, slot_code="AM"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        DoseSession.objects.filter(pk=home.pk).update(status=SessionStatus.SCHEDULED)


def test_the_host_doses_from_its_register_and_the_count_follows_the_person(cast, host):
    person = on_prescription(cast)
    accepted(cast, host, person)
    dose_sessions_generate(clinic=cast.clinic_b, days=[NEXT], now=EVE)
    dose_sessions_generate(clinic=cast.clinic_a, days=[NEXT], now=EVE)
    am = DoseSession.objects.get(
        service_user=person, clinic=cast.clinic_b, clinic_day=DAY, slot_code="AM"
    )
    give_at_host(cast, host, am, at(DAY, 9))
    supply = RegisterEntry.objects.get(kind="supply", administration__session=am)
    assert supply.section == host["section"]
    # The PM dose at the host, and the next day's AM, are missed: the scan runs late,
    # once, the next day at noon.
    missed_sessions_scan(now=at(NEXT, 12))
    assert sessions(person, DAY, "PM") == {"Clinic A": "guest", "Clinic B": "missed"}
    assert sessions(person, NEXT, "AM") == {"Clinic A": "guest", "Clinic B": "missed"}
    person.refresh_from_db()
    assert person.consecutive_not_taken == 2
    missed = Alert.objects.filter(kind=AlertKind.MISSED_DOSE, service_user=person)
    # The host's missed doses alert the host, whose room they were.
    assert set(missed.values_list("clinic__name", flat=True)) == {"Clinic B"}
    assert missed.count() == 2
    assert Alert.objects.filter(kind=AlertKind.CONSECUTIVE_MISSED, service_user=person).exists()
    # The home clinic's own sessions those days are never missed.
    assert not DoseSession.objects.filter(
        service_user=person, clinic=cast.clinic_a, status=SessionStatus.MISSED
    ).exists()


def test_misses_at_the_host_count_towards_retitration_at_home(cast, host):
    person = on_prescription(cast)
    accepted(cast, host, person)
    after = NEXT + dt.timedelta(days=1)
    for clinic in (cast.clinic_a, cast.clinic_b):
        dose_sessions_generate(clinic=clinic, days=[NEXT, after], now=EVE)
    assert sessions(person, after, "AM") == {"Clinic A": "scheduled"}
    # Nobody sees the person at the host: four sessions not taken there, then home.
    missed_sessions_scan(now=at(after, 8, 30))
    person.refresh_from_db()
    assert person.consecutive_not_taken == 4
    assert person.status == Status.RETITRATION_REQUIRED
    home_am = DoseSession.objects.get(service_user=person, clinic_day=after, slot_code="AM")
    with pytest.raises(RuleViolation) as refused:
        session_assess(
            session=home_am,
            nurse=cast.nurse,
            identity_confirmed=True,
            poss="1",
            now=at(after, 9),
        )
    assert refused.value.code == "retitration_required"


def test_a_stay_accepted_after_a_window_closed_leaves_that_slot_at_home(cast, host):
    person = on_prescription(cast)
    stay = authorised(cast, person)
    guest_stay_accept(stay=stay, manager=host["manager"], now=at(DAY, 12))
    # The AM window closed at both clinics before the host accepted: it is home's, and
    # missed there; the PM session is the host's.
    missed_sessions_scan(now=at(DAY, 12, 5))
    assert sessions(person, DAY, "AM") == {"Clinic A": "missed"}
    assert sessions(person, DAY, "PM") == {"Clinic A": "guest", "Clinic B": "scheduled"}


def test_ending_a_stay_sends_the_sessions_not_yet_open_home(cast, host):
    person = on_prescription(cast)
    stay = accepted(cast, host, person)
    am = DoseSession.objects.get(
        service_user=person, clinic=cast.clinic_b, clinic_day=DAY, slot_code="AM"
    )
    give_at_host(cast, host, am, at(DAY, 9))
    guest_stay_end(stay=stay, by=host["manager"], reason="Went home early", now=at(DAY, 12))
    assert sessions(person, DAY, "AM") == {"Clinic A": "guest", "Clinic B": "administered"}
    assert sessions(person, DAY, "PM") == {"Clinic A": "scheduled"}
    # Generation of the next day no longer sees the stay.
    dose_sessions_generate(clinic=cast.clinic_b, days=[NEXT], now=at(DAY, 13))
    dose_sessions_generate(clinic=cast.clinic_a, days=[NEXT], now=at(DAY, 13))
    assert sessions(person, NEXT, "AM") == {"Clinic A": "scheduled"}
    with pytest.raises(Conflict):
        guest_stay_end(stay=stay, by=cast.prescriber, reason="Again", now=at(DAY, 13))


def test_a_stay_not_accepted_changes_nothing(cast, host):
    person = on_prescription(cast)
    authorised(cast, person)
    dose_sessions_generate(clinic=cast.clinic_b, days=[DAY], now=EVE)
    assert sessions(person, DAY, "AM") == {"Clinic A": "scheduled"}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"first_day": DAY - dt.timedelta(days=2)}, "stay_in_past"),
        ({"last_day": DAY - dt.timedelta(days=1)}, "stay_ends_first"),
        ({"last_day": DAY + dt.timedelta(days=28)}, "stay_too_long"),
        ({"host_clinic": "home"}, "host_is_home"),
        ({"reason": " "}, "reason_required"),
    ],
)
def test_authorising_refuses_what_cannot_be(cast, host, change, code):
    person = on_prescription(cast)
    fields = {
        "service_user": person,
        "prescriber": cast.prescriber,
        "host_clinic": cast.clinic_b,
        "first_day": DAY,
        "last_day": NEXT,
        "reason": "Away",
        "now": EVE,
        **change,
    }
    if fields["host_clinic"] == "home":
        fields["host_clinic"] = cast.clinic_a
    with pytest.raises(RuleViolation) as refused:
        guest_stay_authorise(**fields)
    assert refused.value.code == code
    assert not GuestStay.objects.exists()


def test_authorising_refuses_overlaps_other_roles_and_missing_slots(cast, host):
    person = on_prescription(cast)
    authorised(cast, person)
    with pytest.raises(RuleViolation) as overlap:
        authorised(cast, person, first=NEXT, last=NEXT + dt.timedelta(days=3))
    assert overlap.value.code == "stay_overlaps"
    assert "Clinic B" in overlap.value.message
    other = on_prescription(cast)
    for who in (cast.nurse, cast.manager, cast.nurse_b, host["manager"]):
        with pytest.raises(RuleViolation) as role:
            guest_stay_authorise(
                service_user=other,
                prescriber=who,
                host_clinic=cast.clinic_b,
                first_day=DAY,
                last_day=DAY,
                reason="Away",
                now=EVE,
            )
        assert role.value.code == "prescriber_required"
    # Clinic B doses in the morning only: a twice-daily prescription cannot go there.
    policy_issue(
        clinic=cast.clinic_b,
        issued_by=None,
        reason="Mornings only",
        effective_from=EVE - dt.timedelta(hours=1),
        now=EVE - dt.timedelta(hours=2),
        slots=[SlotSpec("AM", dt.time(8), dt.time(11, 30))],
    )
    with pytest.raises(RuleViolation) as slots:
        authorised(cast, other)
    assert slots.value.code == "host_slots_differ"
    assert "PM" in slots.value.message


def test_only_the_hosts_manager_accepts_and_only_once(cast, host):
    person = on_prescription(cast)
    stay = authorised(cast, person)
    for who in (cast.manager, cast.nurse_b, cast.prescriber):
        with pytest.raises(RuleViolation) as refused:
            guest_stay_accept(stay=stay, manager=who, now=EVE)
        assert refused.value.code == "manager_required"
    # The host's managers are asked, in their alerts; accepting answers it.
    asked = Alert.objects.get(kind=AlertKind.GUEST_STAY_REQUESTED, service_user=person)
    assert (asked.clinic, asked.is_open) == (cast.clinic_b, True)
    guest_stay_accept(stay=stay, manager=host["manager"], now=EVE)
    asked.refresh_from_db()
    assert (asked.is_open, asked.acknowledged_by) == (False, host["manager"])
    with pytest.raises(Conflict):
        guest_stay_accept(stay=stay, manager=host["manager"], now=EVE)


def test_a_declined_stay_cannot_be_accepted(cast, host):
    person = on_prescription(cast)
    stay = authorised(cast, person)
    guest_stay_end(stay=stay, by=host["manager"], reason="No room that week", now=EVE)
    with pytest.raises(Conflict) as refused:
        guest_stay_accept(stay=stay, manager=host["manager"], now=EVE)
    assert "No room that week" in refused.value.message
    assert not Alert.objects.get(kind=AlertKind.GUEST_STAY_REQUESTED).is_open
    assert sessions(person, DAY, "AM") == {"Clinic A": "scheduled"}
