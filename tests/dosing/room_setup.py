"""The dosing-room tests' shared day and set-up: a Tuesday in February (GMT), clinic
data made through the services a month before."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from dosing.assessment import session_assess
from dosing.models import DoseSession
from dosing.prescribing import prescription_issue
from dosing.register import register_receive, register_section_add
from dosing.room import dose_administer
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from eligibility.services import policy_issue, service_user_transition
from tests.factories import PASSWORD, TRANSFER, make_service_user

LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 2, 10)
NINE = dt.datetime(2026, 2, 10, 9, 0, tzinfo=LONDON)
SET_UP = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


def on_prescription(cast, *, slot_doses=None, topup_max_mg=None, **fields):
    """A service user of clinic A on an established dose, with DAY's sessions scheduled."""
    person = make_service_user(
        cast.clinic_a, Status.TITRATION, by=cast.prescriber, now=SET_UP, **fields
    )
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses=slot_doses or {"AM": "60", "PM": "60"},
        topup_max_mg=topup_max_mg,
        **TRANSFER,
        reason="Transfer",
        now=SET_UP,
    )
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY], now=SET_UP)
    return person


def inject(cast, session: DoseSession, when, *, drawn="60", injected=None, **fields):
    """The nurse records an IV injection in the arm at `when`, witnessed by the HCA with
    the right password: `drawn` mg drawn up and injected, or `injected` of it."""
    return dose_administer(
        session=session,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        drawn_mg=drawn,
        injected_mg=injected or drawn,
        route=fields.pop("route", "iv"),
        site=fields.pop("site", "arm"),
        now=when,
        **fields,
    )


def give_dose(cast, session: DoseSession, when, mg: str = "60", injected=None) -> DoseSession:
    """Assess and give a session's dose at `when`, witnessed by the HCA: `mg` drawn up
    and injected, or `injected` of it."""
    session_assess(session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=when)
    inject(cast, session, when, drawn=mg, injected=injected)
    session.refresh_from_db()
    return session


def dosed_at_nine(cast, person) -> DoseSession:
    """Assess and give the AM dose at 09:00, witnessed by the HCA."""
    return give_dose(cast, DoseSession.objects.get(service_user=person, slot_code="AM"), NINE)


def with_breath_thresholds(cast, caution="9", withhold="22"):
    """Clinic A's clinical lead sets breath alcohol thresholds from before SET_UP."""
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=None,
        reason="Thresholds",
        effective_from=SET_UP,
        now=SET_UP - dt.timedelta(minutes=1),
        breath_caution_threshold=Decimal(caution),
        breath_withhold_threshold=Decimal(withhold),
    )


def register_stock(cast, ampoules: int = 10):
    """Clinic A's register section that supplies doses, with 100 mg ampoules received
    at 08:00 on DAY."""
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True)
    register_receive(
        section=section,
        ampoules=ampoules,
        supplier_name="Pharma Ltd",
        supplier_address="1 Road",
        batch="B1",
        expiry=dt.date(2027, 1, 1),
        received_by=cast.nurse,
        now=dt.datetime.combine(DAY, dt.time(8), tzinfo=LONDON),
    )
    return section


def assessed_for_pm_on_160(cast) -> DoseSession:
    """A service user in maintenance on 160 mg a session, assessed at 13:10 for DAY's PM
    dose: the set-up for a new version that comes into force with the window open."""
    person = on_prescription(cast, slot_doses={"AM": "160", "PM": "160"}, preferred_name="Kit")
    service_user_transition(
        service_user=person,
        to_status=Status.MAINTENANCE,
        changed_by=cast.prescriber,
        reason="Stable",
        now=SET_UP,
    )
    session = DoseSession.objects.get(service_user=person, slot_code="PM")
    session_assess(
        session=session,
        nurse=cast.nurse,
        identity_confirmed=True,
        poss="1",
        now=dt.datetime.combine(DAY, dt.time(13, 10), tzinfo=LONDON),
    )
    return session


def register_reads(administration, kind) -> Decimal:
    """What the register now says an injection supplied (kind "supply") or wasted
    ("waste"): each entry as its last correction of the amount says, else as written."""
    total = Decimal(0)
    for entry in administration.register_entries.filter(kind=kind):
        last = entry.corrections.filter(corrected_mg__isnull=False).order_by("-sequence").first()
        if last is not None:
            total += last.corrected_mg
        else:
            total += entry.quantity_out_mg if kind == "supply" else entry.waste_mg
    return total
