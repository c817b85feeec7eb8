"""The take-home tests' shared history, made through the services: a service user in
maintenance since START, thirteen weeks before AT, on two doses a day, with the last
four weeks' sessions given, withheld or left to close, and tox screens recorded."""

import datetime as dt
from zoneinfo import ZoneInfo

from dosing.models import DoseSession
from dosing.prescribing import prescription_issue
from dosing.room import session_withhold
from dosing.sessions import dose_sessions_generate
from dosing.take_home import take_home_prescribe
from dosing.take_home_supply import take_home_supply
from eligibility.models import Status
from monitoring.records import tox_screen_record
from tests.dosing.room_setup import give_dose
from tests.factories import PASSWORD, make_service_user

LONDON = ZoneInfo("Europe/London")
# A Thursday at noon, between the AM window's close and the PM window's opening.
AT = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
START = AT - dt.timedelta(weeks=13)
# The four weeks looked at: from the PM session of 29 Oct to the AM one of 26 Nov.
RECENT = [AT.date() - dt.timedelta(days=n) for n in range(28, -1, -1)]
CLEAN = {"acetylcodeine": "negative", "papaverine": "negative", "noscapine": "negative"}
STREET = {**CLEAN, "acetylcodeine": "positive"}


def in_maintenance(cast, since=START, *, sessions=True, **prescribed):
    """In maintenance since `since`, on a clinic prescription; with the recent weeks'
    sessions scheduled unless `sessions` is false (left unattended, they would call
    for re-titration once settled)."""
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=since)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses=prescribed.pop("slot_doses", {"AM": "60", "PM": "60"}),
        **prescribed,
        documented_transfer=True,
        transfer_service="Leeds HAT service",
        transfer_last_dose_mg="60",
        transfer_last_dose_on=since.date() - dt.timedelta(days=1),
        transfer_confirmed_by="Dr A Khan, Leeds, by phone",
        reason="Transfer",
        now=since,
    )
    if sessions:
        dose_sessions_generate(clinic=cast.clinic_a, days=RECENT, now=since)
    return person


def recent_sessions(person):
    """The sessions the four weeks count, oldest first."""
    return list(
        DoseSession.objects.filter(
            service_user=person, closes_at__gt=AT - dt.timedelta(weeks=4), closes_at__lte=AT
        ).order_by("opens_at")
    )


def attending(cast, person, *, skip=(), sedated=()):
    """Every recent session given an hour after it opens, but those at the indexes in
    `skip`, whose windows close with no outcome (the scan has not run), and in
    `sedated`, withheld for sedation."""
    sessions = recent_sessions(person)
    for n, session in enumerate(sessions):
        if n in sedated:
            session_withhold(
                session=session, nurse=cast.nurse, reason="sedation", now=session.opens_at
            )
        elif n not in skip:
            give_dose(cast, session, session.opens_at + dt.timedelta(hours=1))
    return sessions


TWO_DAYS_AGO = AT.date() - dt.timedelta(days=2)


def screens(cast, person, *results, last=TWO_DAYS_AGO):
    """Tox screens a week apart, the last on `last`, in the order given (oldest first)."""
    for n, result in enumerate(results):
        day = last - dt.timedelta(weeks=len(results) - 1 - n)
        tox_screen_record(
            service_user=person,
            recorded_by=cast.nurse,
            sample_date=day,
            results=result,
            now=dt.datetime.combine(day, dt.time(15), tzinfo=LONDON),
        )


def stable(cast, **prescribed):
    """A service user who meets every take-home criterion at AT, with the standard
    numbers: 13 weeks in maintenance, every recent dose taken, three clean screens."""
    person = in_maintenance(cast, **prescribed)
    attending(cast, person)
    screens(cast, person, CLEAN, CLEAN, CLEAN)
    return person


THU = AT.date()  # Thursday 26 Nov 2026, noon
FRI, SAT, SUN, MON, TUE = (THU + dt.timedelta(days=n) for n in range(1, 6))


def on_take_home(cast, *, route="iv", dose="60", slots=("PM",), days=("sat", "sun")):
    person = stable(cast)
    take_home_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        route=route,
        dose_mg=dose,
        slot_codes=list(slots),
        weekdays=list(days),
        valid_from=THU,
        valid_to=THU + dt.timedelta(days=27),
        reason="Weekends at home",
        now=AT,
    )
    return person


def supply(cast, person, through, *, password=PASSWORD, now=AT, **fields):
    return take_home_supply(
        service_user=person,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=password,
        through=through,
        now=now,
        **fields,
    )
