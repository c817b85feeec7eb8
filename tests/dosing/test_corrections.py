"""A correction is as strict as the record it corrects (issue 14.7): witnessed like the
dose, within the dose's rules, and followed by the controlled drugs register, so that
its supply and waste always equal what the corrected records say."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dosing.amendments import session_amend
from dosing.assessment import session_assess
from dosing.models import Amendment, DoseSession, EntryKind, RegisterEntry, RegisterSection
from dosing.room import dose_administer
from tests.dosing.room_setup import (
    DAY,
    LONDON,
    on_prescription,
    register_reads,
    register_stock,
    with_breath_thresholds,
)
from tests.factories import PASSWORD
from tests.helpers import form_data, refused

pytestmark = pytest.mark.django_db


def at(hh, mm=0):
    return dt.datetime.combine(DAY, dt.time(hh, mm), tzinfo=LONDON)


def dose(cast, session, *, drawn="160", injected="150", when=None, topup=False):
    if not topup:
        session_assess(
            session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=when or at(9)
        )
    dose_administer(
        session=session,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        drawn_mg=drawn,
        injected_mg=injected,
        route="iv",
        site="arm",
        topup=topup,
        now=when or at(9),
    )
    session.refresh_from_db()
    return session


@pytest.fixture
def dosed(cast):
    """160 mg drawn, 150 mg injected at 09:00, from a register of 100 mg ampoules: two
    opened, 50 mg waste (10 mg drawn but not injected, 40 mg left)."""
    register_stock(cast)
    person = on_prescription(cast, slot_doses={"AM": "150", "PM": "150"}, topup_max_mg="20")
    return dose(cast, DoseSession.objects.get(service_user=person, slot_code="AM"))


def correct(cast, session, changes, *, witness="hca", password=PASSWORD, sequence=1, when=None):
    witness = getattr(cast, witness) if witness else None
    return session_amend(
        session=session,
        amended_by=cast.nurse,
        record="administration",
        sequence=sequence,
        changes=changes,
        reason="Mis-keyed",
        witness_username=witness.username if witness else "",
        witness_password=password,
        now=when or at(10),
    )


@pytest.mark.parametrize(
    ("witness", "password", "code"),
    [
        (None, "", "witness_required"),
        ("hca", "wrong", "witness_not_confirmed"),
        ("nurse", PASSWORD, "witness_is_nurse"),
        ("manager", PASSWORD, "witness_not_allowed"),
        ("nurse_b", PASSWORD, "witness_not_confirmed"),
    ],
)
def test_a_correction_of_an_injection_is_witnessed_by_the_witness_own_password(
    cast, dosed, witness, password, code
):
    refused(
        code,
        correct,
        cast=cast,
        session=dosed,
        changes={"injected_mg": "140"},
        witness=witness,
        password=password,
    )
    assert not Amendment.objects.exists()
    amendment = correct(cast, dosed, {"injected_mg": "140"})
    assert amendment.witness == cast.hca


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"drawn_mg": "99999"}, "drawn_above_daily_maximum"),
        ({"drawn_mg": "5000", "injected_mg": "5000"}, "drawn_above_daily_maximum"),
        ({"drawn_mg": "200", "injected_mg": "151"}, "dose_above_prescription"),
        ({"injected_mg": "170"}, "injected_above_drawn"),
        ({"injected_at": at(3).isoformat()}, "outside_window"),
        ({"injected_at": at(7, 59).isoformat()}, "outside_window"),
        ({"injected_at": at(10, 30).isoformat()}, "injection_in_future"),
        ({"route": "im", "site": "deltoid"}, "route_not_prescribed"),
        ({"site": "leg"}, "risk_discussion_required"),
    ],
)
def test_a_correction_obeys_the_rules_of_the_injection(cast, dosed, changes, code):
    refusal = refused(code, correct, cast=cast, session=dosed, changes=changes)
    assert refusal.field is None or refusal.field.startswith("changes.")
    assert not Amendment.objects.exists()


def test_a_corrected_top_up_stays_within_its_allowance_and_gap(cast, dosed):
    dose(cast, dosed, drawn="10", injected="10", when=at(9, 30), topup=True)
    refused(
        "topup_above_allowance",
        correct,
        cast=cast,
        session=dosed,
        changes={"drawn_mg": "25", "injected_mg": "21"},
        sequence=2,
    )
    refused(
        "topup_too_soon",
        correct,
        cast=cast,
        session=dosed,
        changes={"injected_at": at(9, 10).isoformat()},
        sequence=2,
    )
    correct(cast, dosed, {"injected_mg": "8"}, sequence=2)


def test_a_corrected_time_keeps_the_interval_to_the_next_session(cast, dosed):
    pm = DoseSession.objects.get(service_user=dosed.service_user, slot_code="PM")
    dose(cast, pm, when=at(13, 0))
    with time_machine.travel(at(13, 30), tick=False):
        refusal = refused(
            "interval_too_short",
            correct,
            cast=cast,
            session=dosed,
            changes={"injected_at": at(9, 30).isoformat()},
            when=at(13, 30),
        )
    assert "next session's injection was at 13:00" in refusal.message


def register_lines(session):
    return list(
        RegisterEntry.objects.filter(session=session)
        .order_by("sequence")
        .values_list("kind", "quantity_out_mg", "quantity_in_mg", "waste_mg", "corrected_mg")
    )


def test_correcting_the_injected_dose_corrects_the_registers_waste(cast, dosed):
    section = RegisterSection.objects.get()
    assert (section.balance_ampoules, section.balance_mg) == (8, Decimal("800"))
    correct(cast, dosed, {"injected_mg": "140"})
    assert register_lines(dosed)[-1] == ("correction", 0, 0, None, Decimal("60"))
    waste = RegisterEntry.objects.get(kind=EntryKind.WASTE)
    assert RegisterEntry.objects.get(corrects=waste).witness == cast.hca
    section.refresh_from_db()
    assert section.balance_mg == Decimal("800")  # waste of a dose was already supplied


def test_correcting_the_drawn_dose_corrects_the_supply_and_the_balance(cast, dosed):
    """Issue 18.5: the supply's correction says how many ampoules the dose now opened,
    and takes out or puts back the difference in whole ampoules."""
    correct(cast, dosed, {"drawn_mg": "170"})  # still two ampoules
    supply = RegisterEntry.objects.get(kind=EntryKind.SUPPLY)
    line = RegisterEntry.objects.get(corrects=supply)
    assert (line.ampoules_out, line.quantity_out_mg, line.corrected_mg) == (0, 0, Decimal("200"))
    assert line.note.startswith("Drawn up corrected from 160 mg to 170 mg, from 2 ampoules")
    correct(cast, dosed, {"drawn_mg": "100", "injected_mg": "100"})  # one ampoule
    line = RegisterEntry.objects.filter(corrects=supply).last()
    assert (line.ampoules_in, line.quantity_in_mg, line.corrected_mg) == (1, 100, 100)
    assert "from 1 ampoule (100 mg) (not 2)" in line.note
    section = RegisterSection.objects.get()
    # 10 received, 1 now opened
    assert (section.balance_ampoules, section.balance_mg) == (9, Decimal("900"))
    assert register_reads(dosed.administrations.get(), "supply") == Decimal("100")
    assert register_reads(dosed.administrations.get(), "waste") == Decimal("0")


def test_a_dose_with_no_waste_corrected_to_some_records_waste(cast):
    register_stock(cast)
    person = on_prescription(cast, slot_doses={"AM": "100", "PM": "100"})
    am = DoseSession.objects.get(service_user=person, slot_code="AM")
    session = dose(cast, am, drawn="100", injected="100")
    assert not RegisterEntry.objects.filter(kind=EntryKind.WASTE).exists()
    correct(cast, session, {"injected_mg": "95"})
    waste = RegisterEntry.objects.get(kind=EntryKind.WASTE)
    assert (waste.waste_mg, waste.witness) == (Decimal("5"), cast.hca)


def test_the_register_page_shows_the_correction(cast, dosed):
    correct(cast, dosed, {"injected_mg": "140"})
    section = RegisterSection.objects.get()
    page = cast.client("nurse").get(f"/register/{section.pk}/").content.decode()
    assert "Waste corrected from 50 mg to 60 mg: Mis-keyed" in page
    assert "now reads 60 mg" in page
    rows = list(
        csv.DictReader(
            io.StringIO(
                cast.client("nurse").get(f"/register/{section.pk}/csv/").content.decode("utf-8-sig")
            )
        )
    )
    assert (rows[-1]["kind"], rows[-1]["now reads (mg)"]) == ("Correction", "60.00")
    assert [r["waste (mg)"] for r in rows if r["kind"] == "Waste"] == ["50.00"]


def test_the_api_takes_the_witness_and_refuses_without_one(cast, dosed):
    body = {
        "record": "administration",
        "sequence": 1,
        "changes": {"injected_mg": "140"},
        "reason": "Mis-keyed",
    }
    client = cast.client("nurse")
    with time_machine.travel(at(10), tick=False):
        refused_response = client.post(
            f"/api/v1/dose-sessions/{dosed.pk}/amend/", body, content_type="application/json"
        )
        assert refused_response.status_code == 400
        assert refused_response.json()["code"] == "witness_required"
        done = client.post(
            f"/api/v1/dose-sessions/{dosed.pk}/amend/",
            {**body, "witness_username": cast.hca.username, "witness_password": PASSWORD},
            content_type="application/json",
        )
    assert done.status_code == 200
    assert done.json()["amendments"][0]["witness"] == cast.hca.pk


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"drawn_mg": "99999"}, "drawn_above_daily_maximum"),
        ({"drawn_mg": "5000", "injected_mg": "5000"}, "drawn_above_daily_maximum"),
        ({"injected_at": "2026-02-10T03:00:00+00:00"}, "outside_window"),
    ],
)
def test_the_api_refuses_a_correction_beyond_the_injections_rules(cast, dosed, changes, code):
    with time_machine.travel(at(10), tick=False):
        response = cast.client("nurse").post(
            f"/api/v1/dose-sessions/{dosed.pk}/amend/",
            {
                "record": "administration",
                "sequence": 1,
                "changes": changes,
                "reason": "Mis-keyed",
                "witness_username": cast.hca.username,
                "witness_password": PASSWORD,
            },
            content_type="application/json",
        )
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["field"].startswith("changes.")
    assert not Amendment.objects.exists()
    assert RegisterSection.objects.get().balance_mg == Decimal("800")


def test_the_session_page_runs_the_same_queries_for_1_and_6_corrections(cast, dosed):
    client = cast.client("nurse")
    counts = []
    for injected in ("149", "148", "147", "146", "145", "144"):
        correct(cast, dosed, {"injected_mg": injected})
        if dosed.amendments.count() in (1, 6):
            with time_machine.travel(at(10), tick=False), CaptureQueriesContext(connection) as q:
                assert client.get(f"/dosing/sessions/{dosed.pk}/").status_code == 200
            counts.append(len(q))
    assert counts[0] == counts[1], counts


# Each correction is checked against the session's other records as they now read --------


def test_a_top_up_is_checked_against_the_first_injection_as_corrected(cast, dosed):
    correct(cast, dosed, {"injected_at": at(9, 30).isoformat()}, when=at(9, 45))
    refused(
        "topup_too_soon",
        dose,
        cast=cast,
        session=dosed,
        drawn="10",
        injected="10",
        when=at(9, 45),
        topup=True,
    )
    dose(cast, dosed, drawn="10", injected="10", when=at(9, 50), topup=True)


def test_correcting_the_first_injection_keeps_the_top_up_after_it(cast, dosed):
    dose(cast, dosed, drawn="10", injected="10", when=at(9, 25), topup=True)
    refusal = refused(
        "topup_too_soon",
        correct,
        cast=cast,
        session=dosed,
        changes={"injected_at": at(9, 10).isoformat()},
    )
    assert refusal.field == "changes.injected_at"


def test_the_observation_is_timed_from_the_injections_as_corrected(cast, dosed):
    from dosing.room import session_observe

    correct(cast, dosed, {"injected_at": at(9, 40).isoformat()}, when=at(9, 45))
    refused(
        "observation_too_soon",
        session_observe,
        session=dosed,
        observer=cast.nurse,
        outcome="no_concerns",
        now=at(9, 50),
    )
    session_observe(session=dosed, observer=cast.nurse, outcome="no_concerns", now=at(10))


def test_a_corrected_injection_time_keeps_the_observation_after_it(cast, dosed):
    from dosing.room import session_observe

    session_observe(session=dosed, observer=cast.nurse, outcome="no_concerns", now=at(9, 25))
    refused(
        "observation_too_soon",
        correct,
        cast=cast,
        session=dosed,
        changes={"injected_at": at(9, 15).isoformat()},
    )


def test_a_top_up_keeps_the_interval_to_the_next_session(cast, dosed):
    pm = DoseSession.objects.get(service_user=dosed.service_user, slot_code="PM")
    dose(cast, pm, when=at(13, 5))
    # Recorded late, at 13:30, and timed back into the AM window: 1 h 45 before the PM dose.
    with time_machine.travel(at(13, 30), tick=False):
        response = cast.client("nurse").post(
            f"/api/v1/dose-sessions/{dosed.pk}/administer/",
            {
                "drawn_mg": "10",
                "injected_mg": "10",
                "route": "iv",
                "site": "arm",
                "topup": True,
                "injected_at": at(11, 20).isoformat(),
                "witness_username": cast.hca.username,
                "witness_password": PASSWORD,
            },
            content_type="application/json",
        )
    assert response.status_code == 400
    assert response.json()["code"] == "interval_too_short"


def test_a_dose_cannot_be_timed_before_the_assessment_that_allowed_it(cast):
    from dosing.assessment import session_assess

    session = DoseSession.objects.get(service_user=on_prescription(cast), slot_code="AM")
    session_assess(
        session=session, nurse=cast.nurse, identity_confirmed=True, poss="3", defer=True, now=at(9)
    )
    session_assess(
        session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=at(10, 30)
    )
    refusal = refused(
        "injection_before_assessment",
        dose_administer,
        session=session,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        drawn_mg="60",
        injected_mg="60",
        route="iv",
        site="arm",
        injected_at=at(9, 5),
        now=at(10, 35),
    )
    assert "at 10:30" in refusal.message


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"naloxone_at": at(3).isoformat()}, "naloxone_time_invalid"),
        ({"naloxone_at": at(23).isoformat()}, "naloxone_time_invalid"),
        ({"naloxone_mg": ""}, "naloxone_dose_required"),
    ],
)
def test_a_corrected_observation_keeps_its_times(cast, dosed, changes, code):
    from dosing.room import session_observe

    session_observe(
        session=dosed,
        observer=cast.nurse,
        outcome="adverse_event",
        overdose=True,
        naloxone_mg="0.4",
        naloxone_at=at(9, 10),
        details="Overdose",
        now=at(9, 25),
    )
    refused(
        code,
        session_amend,
        session=dosed,
        amended_by=cast.nurse,
        record="observation",
        changes=changes,
        reason="Mis-keyed",
        now=at(10),
    )


def test_each_assessment_of_a_deferred_session_is_corrected_on_its_own(cast):
    from dosing.assessment import session_assess

    session = DoseSession.objects.get(service_user=on_prescription(cast), slot_code="AM")
    session_assess(
        session=session, nurse=cast.nurse, identity_confirmed=True, poss="3", defer=True, now=at(9)
    )
    first = session_amend(
        session=session,
        amended_by=cast.nurse,
        record="assessment",
        sequence=1,
        changes={"poss": "4"},
        reason="Was 4",
        now=at(9, 5),
    )
    session_assess(session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=at(10))
    latest = session_amend(
        session=session,
        amended_by=cast.nurse,
        record="assessment",
        changes={"caution_reason": "Alert and chatting"},
        reason="Added",
        now=at(10, 5),
    )
    assert first.assessment.sequence == 1 and latest.assessment.sequence == 2
    assert latest.changes == {"caution_reason": {"from": "", "to": "Alert and chatting"}}
    # The assessment that went on to the dose cannot read as a withhold, nor as a
    # caution without its reason.
    refused(
        "poss_withholds",
        session_amend,
        session=session,
        amended_by=cast.nurse,
        record="assessment",
        changes={"poss": "4"},
        reason="x",
        now=at(10, 6),
    )


def test_an_assessment_that_went_on_to_the_dose_cannot_read_as_a_breath_withhold(cast):
    with_breath_thresholds(cast, caution="9", withhold="22")
    session = DoseSession.objects.get(service_user=on_prescription(cast), slot_code="AM")
    session_assess(
        session=session,
        nurse=cast.nurse,
        identity_confirmed=True,
        poss="1",
        breath_mcg_per_100ml="5",
        now=at(9),
    )
    refused(
        "breath_withholds",
        session_amend,
        session=session,
        amended_by=cast.nurse,
        record="assessment",
        changes={"breath_mcg_per_100ml": "22"},
        reason="Misread",
        now=at(9, 5),
    )
    # At the caution threshold it reads as a caution, which needs its reason.
    refused(
        "caution_reason_required",
        session_amend,
        session=session,
        amended_by=cast.nurse,
        record="assessment",
        changes={"breath_mcg_per_100ml": "9"},
        reason="Misread",
        now=at(9, 5),
    )
    amended = session_amend(
        session=session,
        amended_by=cast.nurse,
        record="assessment",
        changes={"breath_mcg_per_100ml": "9", "caution_reason": "Steady, talking clearly"},
        reason="Misread",
        now=at(9, 5),
    )
    assert amended.changes["breath_mcg_per_100ml"]["to"] in ("9", "9.0")


def test_correcting_an_amount_on_the_page_leaves_the_time_as_it_was(cast):
    register_stock(cast)
    person = on_prescription(cast)
    session = DoseSession.objects.get(service_user=person, slot_code="AM")
    dose(cast, session, drawn="60", injected="60", when=at(9) + dt.timedelta(seconds=40))
    client = cast.client("nurse")
    url = f"/dosing/sessions/{session.pk}/"
    with time_machine.travel(at(9, 30), tick=False):
        data = form_data(client.get(url).content.decode(), aria_label="Correct the injection")
        data.update(
            {
                "amend-administration-1-injected_mg": "55",
                "amend-administration-1-reason": "Mis-keyed",
                "amend-administration-1-witness_username": cast.hca.username,
                "amend-administration-1-witness_password": PASSWORD,
            }
        )
        assert client.post(url, data).status_code == 302
    assert Amendment.objects.get().changes == {"injected_mg": {"from": "60", "to": "55"}}


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"injected_at": "0001-01-01T00:00:00+14:00"}, "bad_time"),
        ({"injected_at": "9999-12-31T23:59:00-12:00"}, "bad_time"),
        ({"risk_discussion": "a\x00b"}, "text_invalid"),
    ],
)
def test_a_correction_out_of_any_range_is_a_400_not_a_500(cast, dosed, changes, code):
    with time_machine.travel(at(10), tick=False):
        response = cast.client("nurse").post(
            f"/api/v1/dose-sessions/{dosed.pk}/amend/",
            {
                "record": "administration",
                "changes": changes,
                "reason": "x",
                "witness_username": cast.hca.username,
                "witness_password": PASSWORD,
            },
            content_type="application/json",
        )
        assert (response.status_code, response.json()["code"]) == (400, code)
        assert cast.client("nurse").get(f"/dosing/sessions/{dosed.pk}/").status_code == 200


def test_a_witness_username_longer_than_any_is_refused(cast, dosed):
    with time_machine.travel(at(10), tick=False):
        response = cast.client("nurse").post(
            f"/api/v1/dose-sessions/{dosed.pk}/amend/",
            {
                "record": "administration",
                "changes": {"injected_mg": "140"},
                "reason": "x",
                "witness_username": "w" * 200,
                "witness_password": PASSWORD,
            },
            content_type="application/json",
        )
    assert response.status_code == 400
    assert "witness_username" in response.json()
