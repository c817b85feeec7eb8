"""Shared set-up for the missed-dose scan tests: people on a twice-daily prescription
in clinic A (slots AM 08:00-11:30 and PM 13:00-17:30, London time)."""

import datetime as dt
from zoneinfo import ZoneInfo

from dosing.models import DoseSession
from dosing.prescribing import prescription_issue
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from tests.factories import TRANSFER, make_service_user

LONDON = ZoneInfo("Europe/London")
SET_UP = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


def london(day: dt.date, hh: int, mm: int = 0, *, fold: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm, fold=fold), tzinfo=LONDON)


def people_on_prescription(
    cast, n: int, *, status=Status.MAINTENANCE, clinic=None, prescriber=None
) -> list:
    clinic, prescriber = clinic or cast.clinic_a, prescriber or cast.prescriber
    people = []
    for _ in range(n):
        person = make_service_user(clinic, status, by=prescriber, now=SET_UP)
        prescription_issue(
            service_user=person,
            prescriber=prescriber,
            slot_doses={"AM": "60", "PM": "60"},
            **TRANSFER,
            reason="Transfer",
            now=SET_UP,
        )
        people.append(person)
    return people


def schedule(cast, *days: dt.date, clinic=None) -> None:
    dose_sessions_generate(clinic=clinic or cast.clinic_a, days=days, now=SET_UP)


def session_of(person, day: dt.date, slot: str) -> DoseSession:
    return DoseSession.objects.get(service_user=person, clinic_day=day, slot_code=slot)
