"""Supplying take-home doses (issue 19.3): a nurse hands over the doses due to the day
before the next visit, witnessed by password; the register records what left in the
same transaction; each dose's session is marked take-home, off the room's board,
never missed, and taken for the consecutive rule; and each dose gets a label."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from alerts.models import Alert
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, RegisterEntry, SessionStatus, TakeHomeSupply
from dosing.register import register_receive, register_section_add
from dosing.selectors import board_sessions
from dosing.sessions import dose_sessions_generate
from dosing.take_home_supply import default_through
from eligibility.models import Status
from tests.dosing.room_setup import give_dose, register_stock
from tests.dosing.take_home_setup import AT, FRI, MON, SAT, SUN, THU, on_take_home, supply
from tests.factories import PASSWORD
from tests.helpers import refused
from tests.monitoring.scan_setup import london

pytestmark = pytest.mark.django_db


def sessions_of(person, *days):
    return {
        (s.clinic_day, s.slot_code): s.status
        for s in DoseSession.objects.filter(service_user=person, clinic_day__in=days)
    }


def test_a_nurse_supplies_the_weekend_witnessed_and_the_register_records_it(cast):
    person = on_take_home(cast)
    section = register_stock(cast, ampoules=10)
    assert default_through(service_user=person, now=AT) == SUN
    given = supply(cast, person, SUN)
    assert (given.units, given.next_visit, given.witness) == (2, MON, cast.hca)
    assert [(d.clinic_day, d.slot_code, d.dose_mg, d.units) for d in given.doses.all()] == [
        (SAT, "PM", 60, 1),
        (SUN, "PM", 60, 1),
    ]
    line = RegisterEntry.objects.get(take_home_supply=given)
    assert (line.kind, line.ampoules_out, line.balance_ampoules, line.witness) == (
        "take_home",
        2,
        8,
        cast.hca,
    )
    assert "Supplied to Jamie Test to take home: 2 doses, 28 Nov to 29 Nov" in line.note
    section.refresh_from_db()
    assert section.balance_ampoules == 8
    # The weekend's PM sessions stand for the doses; generation adds only the AM ones.
    dose_sessions_generate(clinic=cast.clinic_a, days=[SAT, SUN], now=AT)
    assert sessions_of(person, SAT, SUN) == {
        (SAT, "AM"): "scheduled",
        (SAT, "PM"): "take_home",
        (SUN, "AM"): "scheduled",
        (SUN, "PM"): "take_home",
    }
    assert (
        DoseSession.history.filter(
            service_user=person, status="take_home", history_change_reason="Supplied to take home"
        ).count()
        == 2
    )


def test_a_scheduled_session_is_marked_and_leaves_the_rooms_board(cast):
    person = on_take_home(cast, days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    register_stock(cast)
    board = [s.service_user for s in board_sessions(clinic=cast.clinic_a, day=THU, slot_code="PM")]
    assert person in board
    given = supply(cast, person, THU)  # today's PM, its session already scheduled
    assert [d.session.status for d in given.doses.all()] == ["take_home"]
    board = [s.service_user for s in board_sessions(clinic=cast.clinic_a, day=THU, slot_code="PM")]
    assert person not in board
    refused("nothing_to_supply", supply, cast=cast, person=person, through=THU)


def weekend_away(cast, count=1):
    """People with Saturday's and Sunday's PM doses supplied on Thursday, who come on
    Friday morning and then miss Friday PM, Saturday AM and Sunday AM."""
    people = [on_take_home(cast) for _ in range(count)]
    register_stock(cast)
    dose_sessions_generate(clinic=cast.clinic_a, days=[FRI, SAT, SUN], now=AT)
    for person in people:
        supply(cast, person, SUN)
        am = DoseSession.objects.get(service_user=person, clinic_day=FRI, slot_code="AM")
        give_dose(cast, am, london(FRI, 9))
    return people


def counted(person):
    person.refresh_from_db()
    kinds = sorted(Alert.objects.filter(service_user=person).values_list("kind", flat=True))
    return person.consecutive_not_taken, person.status, kinds


def test_a_take_home_dose_is_never_missed_and_counts_as_taken_once_its_time_has_come(cast):
    (person,) = weekend_away(cast)
    # Friday PM and Saturday AM missed: two in a row, though Saturday's PM dose, still
    # to come, was supplied on Thursday.
    missed_sessions_scan(now=london(SAT, 12), service_users=[person.pk])
    assert counted(person)[0] == 2
    # Sunday AM missed; Saturday PM's take-home dose came between.
    missed_sessions_scan(now=london(SUN, 12), service_users=[person.pk])
    assert counted(person)[:2] == (1, Status.MAINTENANCE)
    missed_sessions_scan(now=london(SUN, 23), service_users=[person.pk])
    assert sessions_of(person, SAT, SUN)[SAT, "PM"] == "take_home"
    assert sessions_of(person, SAT, SUN)[SUN, "PM"] == "take_home"
    assert "missed" not in {d.session.status for d in TakeHomeSupply.objects.get().doses.all()}


def test_a_late_scan_settles_as_the_scans_on_time_would(cast):
    """One scan on Sunday night settles Friday PM and Saturday AM as of Saturday PM's
    take-home dose first: the same count, status and alerts as three scans on time."""
    on_time, late = weekend_away(cast, count=2)
    for when in (london(SAT, 12), london(SUN, 12), london(SUN, 23)):
        missed_sessions_scan(now=when, service_users=[on_time.pk])
    missed_sessions_scan(now=london(SUN, 23), service_users=[late.pk])
    assert counted(late) == counted(on_time)
    count, status, kinds = counted(late)
    assert (count, status) == (1, Status.MAINTENANCE)
    # The set-up's first AM and Thursday PM (settled when Friday AM was given), Friday
    # PM, Saturday AM, Sunday AM; and the warning for two in a row, on Saturday.
    assert (kinds.count("missed_dose"), kinds.count("consecutive_missed")) == (5, 1), kinds


def test_by_mouth_the_register_gives_whole_tablets(cast):
    person = on_take_home(cast, route="oral", dose="60")
    tablets = register_section_add(clinic=cast.clinic_a, strength_mg="20", form="tablet")
    register_receive(
        section=tablets,
        ampoules=100,
        supplier_name="Pharma Ltd",
        supplier_address="1 Road",
        batch="T1",
        expiry=dt.date(2027, 6, 1),
        received_by=cast.nurse,
        now=AT - dt.timedelta(days=1),
    )
    given = supply(cast, person, SUN)
    assert (given.section, given.units) == (tablets, 6)
    assert RegisterEntry.objects.get(take_home_supply=given).note.endswith("6 tablets (120 mg).")


@pytest.mark.parametrize(
    ("setup", "through", "code", "field"),
    [
        ("stock", THU - dt.timedelta(days=1), "take_home_through_past", "through"),
        ("stock", THU + dt.timedelta(days=7), "take_home_too_far", "through"),
        ("stock", THU, "nothing_to_supply", "through"),
        ("none", SUN, "no_register_section", None),
        ("short", SUN, "register_balance_negative", "through"),
        ("wrong password", SUN, "witness_not_confirmed", "witness_password"),
    ],
)
def test_a_refused_supply_writes_nothing(cast, setup, through, code, field):
    person = on_take_home(cast)
    if setup != "none":
        register_stock(cast, ampoules=1 if setup == "short" else 10)
    password = "not the password" if setup == "wrong password" else PASSWORD
    refusal = refused(code, supply, cast=cast, person=person, through=through, password=password)
    assert refusal.field == field
    assert not TakeHomeSupply.objects.exists()
    assert not DoseSession.objects.filter(status=SessionStatus.TAKE_HOME).exists()
    assert not RegisterEntry.objects.filter(kind="take_home").exists()


# The API and the pages.


def test_a_nurse_supplies_through_the_api_and_others_may_not(cast):
    person = on_take_home(cast)
    register_stock(cast)
    body = {
        "service_user": person.pk,
        "through": str(SUN),
        "witness_username": cast.hca.username,
        "witness_password": PASSWORD,
    }
    url = "/api/v1/take-home/supplies/"
    with time_machine.travel(AT, tick=False):
        for who, status in (("hca", 403), ("prescriber", 403), ("manager", 403), ("nurse_b", 404)):
            answer = cast.client(who).post(url, body, content_type="application/json")
            assert answer.status_code == status, who
        wrong = cast.client("nurse").post(
            url, {**body, "witness_password": "guess"}, content_type="application/json"
        )
        assert (wrong.status_code, wrong.json()["field"]) == (400, "witness_password")
        made = cast.client("nurse").post(url, body, content_type="application/json")
        assert made.status_code == 201, made.json()
        assert [d["clinic_day"] for d in made.json()["doses"]] == [str(SAT), str(SUN)]
        assert (made.json()["units"], made.json()["unit"]) == (2, "ampoule")
        listed = cast.client("prescriber").get(url, {"service_user": person.pk}).json()
        assert [row["id"] for row in listed["results"]] == [made.json()["id"]]
        assert cast.client("nurse_b").get(url).json()["results"] == []


def test_the_labels_carry_what_the_service_user_needs_on_each_dose(cast):
    cast.clinic_a.phone = "01642 000 000"
    cast.clinic_a.save()
    person = on_take_home(cast)
    register_stock(cast)
    given = supply(cast, person, SUN)
    url = reverse("take-home-labels", args=[given.pk])
    for paper, css in (("", "labels-70x36.css"), ("a4", "labels-a4.css")):
        page = cast.client("nurse").get(url, {"paper": paper} if paper else {})
        text = page.content.decode()
        assert page.status_code == 200 and css in text
        assert text.count('data-testid="take-home-label"') == 2
        for words in (
            "Jamie Test",
            "Diamorphine hydrochloride 60 mg",
            "Intravenous injection (ampoules): 1 ampoule",
            "Take on Sat 28 Nov 2026, PM dose",
            "Take on Sun 29 Nov 2026, PM dose",
            "Keep out of reach of children",
            "Clinic A · 01642 000 000",
        ):
            assert words in text, words
    assert cast.client("nurse_b").get(url).status_code == 404
    assert cast.client(None).get(url).status_code == 302


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("nurse", 200),
        ("hca", 403),
        ("prescriber", 403),
        ("manager", 403),
        ("nurse_b", 404),
        (None, 302),
    ],
)
def test_only_a_nurse_opens_the_supply_form(cast, who, status):
    person = on_take_home(cast)
    with time_machine.travel(AT, tick=False):
        page = cast.client(who).get(reverse("take-home-supply-new", args=[person.pk]))
    assert page.status_code == status
    if who == "nurse":
        text = page.content.decode()
        assert "Sat 28 Nov 2026" in text and "Sun 29 Nov 2026" in text
        assert 'value="2026-11-29"' in text
