"""The dashboards' roll-ups (issue 8.7): whatever the roll-up has reached, the
attendance and outcomes dashboards give exactly the numbers of the raw records;
runs take up where the last stopped; a day with a session still open is not rolled
up; a screen recorded after the cut-off counts at once."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from eligibility.models import Clinic
from monitoring.dashboards import Filters, attendance, outcomes
from monitoring.models import AttendanceDay, AttendanceWeek, RollupMark, ToxDay
from monitoring.records import tox_screen_record
from monitoring.rollups import SETTLE_DAYS, attendance_rollup
from monitoring.tasks import roll_up_dashboards
from tests.monitoring.scan_setup import london, people_on_prescription, schedule

END = dt.date(2026, 6, 30)
RANGES = [
    (END - dt.timedelta(days=119), END),  # everything
    (dt.date(2026, 4, 8), dt.date(2026, 6, 3)),  # Wednesday to Wednesday
    (dt.date(2026, 5, 4), dt.date(2026, 5, 10)),  # one whole week
    (dt.date(2026, 5, 5), dt.date(2026, 5, 9)),  # inside a week
    (END - dt.timedelta(days=27), END),  # the default 28 days
]


def everything():
    clinics = Clinic.objects.all()
    numbers = {}
    for start, end in RANGES:
        filters = Filters(clinics=clinics, start=start, end=end)
        numbers[start, end] = (
            [attendance(filters, period=period) for period in ("day", "week", "month")],
            outcomes(filters),
        )
    return numbers


def roll_up(day):
    with time_machine.travel(london(day, 3), tick=False):
        return roll_up_dashboards.delay().get()


@pytest.mark.django_db
def test_the_rolled_up_numbers_are_the_raw_numbers():
    call_command("synthetic_history", people=15, days=120, end=END, seed=5, stdout=None)
    raw = everything()
    assert not RollupMark.objects.exists()

    partly = roll_up(END - dt.timedelta(days=20))  # settled up to 5 June
    assert partly["attendance_through"] == str(END - dt.timedelta(days=20 + SETTLE_DAYS))
    assert partly["screens_added"] > 0
    assert AttendanceDay.objects.exists() and AttendanceWeek.objects.exists()
    assert everything() == raw

    whole = roll_up(END + dt.timedelta(days=30))  # takes up from 5 June
    assert whole["attendance_through"] == str(END + dt.timedelta(days=30 - SETTLE_DAYS))
    assert everything() == raw
    assert roll_up(END + dt.timedelta(days=30))["screens_added"] == 0, "nothing twice"
    assert everything() == raw


@pytest.mark.django_db
def test_a_day_with_a_session_still_open_is_not_rolled_up(cast):
    people_on_prescription(cast, 2)
    schedule(cast, dt.date(2026, 2, 9), dt.date(2026, 2, 10))  # never ended: still open
    through = attendance_rollup(now=london(dt.date(2026, 4, 1), 3))
    assert through is None, "the first day has open sessions: nothing is settled"
    assert not AttendanceDay.objects.exists()
    filters = Filters(
        clinics=Clinic.objects.all(), start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28)
    )
    assert attendance(filters)["totals"]["open"] == 8


@pytest.mark.django_db
def test_a_screen_recorded_after_the_cut_off_counts_at_once(cast):
    (person,) = people_on_prescription(cast, 1)
    day = dt.date(2026, 3, 2)
    record = lambda result, now: tox_screen_record(  # noqa: E731
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=day,
        results={"papaverine": result},
        now=now,
    )
    record("positive", london(day, 12))
    roll_up(dt.date(2026, 3, 20))
    assert ToxDay.objects.get(substance="street_heroin").tested == 1
    record("negative", london(dt.date(2026, 3, 20), 9))  # dated in the past, recorded now
    filters = Filters(clinics=Clinic.objects.all(), start=day, end=day)
    [cell] = [c for c in outcomes(filters)["rows"][0]["cells"] if c["substance"] == "street_heroin"]
    assert (cell["positive"], cell["tested"]) == (1, 2)
    roll_up(dt.date(2026, 3, 21))
    assert ToxDay.objects.get(substance="street_heroin").tested == 2
    [cell] = [c for c in outcomes(filters)["rows"][0]["cells"] if c["substance"] == "street_heroin"]
    assert (cell["positive"], cell["tested"]) == (1, 2), "counted once"
