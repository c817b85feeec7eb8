"""A correction is as strict as the record it corrects (issue 14.7): witnessed like the
dose, within the dose's rules, and followed by the controlled drugs register, so that
its supply and waste always equal what the corrected records say."""

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from dosing.amendments import session_amend
from dosing.effective import Injection
from dosing.models import Amendment, DoseSession, EntryKind, RegisterEntry, RegisterSection
from dosing.room import dose_administer, session_assess
from hat_clinic.errors import RuleViolation
from tests.dosing.room_setup import DAY, LONDON, on_prescription, register_stock
from tests.factories import PASSWORD
from tests.helpers import refused

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
    """160 mg drawn, 150 mg injected at 09:00 (10 mg waste), from a register."""
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
        ("nurse_b", PASSWORD, "witness_not_allowed"),
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
    assert section.balance_mg == Decimal("840")
    correct(cast, dosed, {"injected_mg": "140"})
    assert register_lines(dosed)[-1] == ("correction", 0, 0, None, Decimal("20"))
    waste = RegisterEntry.objects.get(kind=EntryKind.WASTE)
    assert RegisterEntry.objects.get(corrects=waste).witness == cast.hca
    section.refresh_from_db()
    assert section.balance_mg == Decimal("840")  # waste of a dose was already supplied


def test_correcting_the_drawn_dose_corrects_the_supply_and_the_balance(cast, dosed):
    correct(cast, dosed, {"drawn_mg": "170"})
    supply = RegisterEntry.objects.get(kind=EntryKind.SUPPLY)
    line = RegisterEntry.objects.get(corrects=supply)
    assert (line.quantity_out_mg, line.corrected_mg) == (Decimal("10"), Decimal("170"))
    correct(cast, dosed, {"drawn_mg": "150"})
    section = RegisterSection.objects.get()
    assert section.balance_mg == Decimal("850")  # 1,000 received, 150 now supplied
    assert register_supply(dosed.administrations.get()) == Decimal("150")
    assert register_waste(dosed.administrations.get()) == Decimal("0")


def test_a_dose_with_no_waste_corrected_to_some_records_waste(cast):
    register_stock(cast)
    person = on_prescription(cast)
    am = DoseSession.objects.get(service_user=person, slot_code="AM")
    session = dose(cast, am, drawn="60", injected="60")
    correct(cast, session, {"injected_mg": "55"})
    waste = RegisterEntry.objects.get(kind=EntryKind.WASTE)
    assert (waste.waste_mg, waste.witness) == (Decimal("5"), cast.hca)


def test_the_register_page_shows_the_correction(cast, dosed):
    correct(cast, dosed, {"injected_mg": "140"})
    section = RegisterSection.objects.get()
    page = cast.client("nurse").get(f"/register/{section.pk}/").content.decode()
    assert "Waste corrected from 10 mg to 20 mg: Mis-keyed" in page
    assert "now reads 20.00 mg" in page
    rows = list(
        csv.DictReader(
            io.StringIO(
                cast.client("nurse").get(f"/register/{section.pk}/csv/").content.decode("utf-8-sig")
            )
        )
    )
    assert (rows[-1]["kind"], rows[-1]["now reads (mg)"]) == ("Correction", "20.00")
    assert [r["waste (mg)"] for r in rows if r["kind"] == "Waste"] == ["10.00"]


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


# The register and the corrected administrations agree after any sequence ----------------


def _effective(entry) -> Decimal:
    """What a supply or waste entry now reads: its last correction, else itself."""
    last = entry.corrections.order_by("-sequence").first()
    if last is not None:
        return last.corrected_mg
    return entry.quantity_out_mg if entry.kind == EntryKind.SUPPLY else entry.waste_mg


def register_supply(administration) -> Decimal:
    return sum(
        (_effective(e) for e in administration.register_entries.filter(kind=EntryKind.SUPPLY)),
        Decimal(0),
    )


def register_waste(administration) -> Decimal:
    return sum(
        (_effective(e) for e in administration.register_entries.filter(kind=EntryKind.WASTE)),
        Decimal(0),
    )


_runs = itertools.count()


class DosesAndCorrections(RuleBasedStateMachine):
    """Random doses and random corrections of them, some refused: after each step the
    register's supply and waste for every injection equal the injection as corrected,
    and the balance is what was received less what the corrected injections drew."""

    cast = None

    def __init__(self):
        super().__init__()
        # Each example starts from the same clinic: its rows are rolled back after it.
        self._example = transaction.atomic()
        self._example.__enter__()
        cast = DosesAndCorrections.cast
        self.section = register_stock(cast, ampoules=20)
        run = next(_runs)
        self.people = [
            on_prescription(
                cast,
                slot_doses={"AM": "100", "PM": "100"},
                topup_max_mg="20",
                family_name=f"Run{run}P{n}",
            )
            for n in range(3)
        ]
        self.received = self.section.balance_mg

    def teardown(self):
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    def _session(self, index):
        return DoseSession.objects.get(service_user=self.people[index], slot_code="AM")

    @rule(
        index=st.integers(0, 2),
        drawn=st.decimals(min_value=1, max_value=120, places=1),
        wasted=st.decimals(min_value=0, max_value=30, places=1),
    )
    def give(self, index, drawn, wasted):
        session = self._session(index)
        if session.administrations.exists():
            return
        try:
            with transaction.atomic():
                dose(
                    DosesAndCorrections.cast,
                    session,
                    drawn=str(drawn),
                    injected=str(max(drawn - wasted, Decimal("0.1"))),
                )
        except RuleViolation as refusal:
            assert refusal.code in {"dose_above_prescription"}, refusal.code

    @precondition(lambda self: self.section.entries.filter(kind=EntryKind.SUPPLY).exists())
    @rule(
        index=st.integers(0, 2),
        drawn=st.one_of(st.none(), st.decimals(min_value=1, max_value=250, places=1)),
        injected=st.one_of(st.none(), st.decimals(min_value=1, max_value=120, places=1)),
    )
    def correct(self, index, drawn, injected):
        session = self._session(index)
        if not session.administrations.exists():
            return
        changes = {}
        if drawn is not None:
            changes["drawn_mg"] = str(drawn)
        if injected is not None:
            changes["injected_mg"] = str(injected)
        if not changes:
            return
        try:
            with transaction.atomic():
                correct(DosesAndCorrections.cast, session, changes)
        except RuleViolation as refusal:
            assert refusal.code in {
                "injected_above_drawn",
                "dose_above_prescription",
                "drawn_above_daily_maximum",
                "nothing_changed",
                "register_balance_negative",
            }, refusal.code

    @invariant()
    def the_register_follows_the_corrected_injections(self):
        drawn_in_all = Decimal(0)
        for person in self.people:
            for administration in person.dose_sessions.get(slot_code="AM").administrations.all():
                now_reads = Injection(administration)
                assert register_supply(administration) == now_reads.drawn_mg
                assert register_waste(administration) == now_reads.waste_mg
                drawn_in_all += now_reads.drawn_mg
        section = RegisterSection.objects.get(pk=self.section.pk)
        assert section.balance_mg == self.received - drawn_in_all >= 0


def test_the_register_and_the_corrected_injections_always_agree(cast):
    DosesAndCorrections.cast = cast
    with time_machine.travel(at(10), tick=False):
        run_state_machine_as_test(
            DosesAndCorrections,
            settings=settings(
                max_examples=15,
                stateful_step_count=10,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


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
    assert RegisterSection.objects.get().balance_mg == Decimal("840")


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
