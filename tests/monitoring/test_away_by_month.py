"""The workload dashboard's take-home and guest dosing by month (issue 19.7), asserted
exactly on a known history: a take-home supply, a return and a lapse, and a guest stay
at another clinic."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse

from core.roles import Role
from dosing.guest import guest_stay_accept, guest_stay_authorise
from dosing.sessions import dose_sessions_generate
from dosing.take_home_lapses import take_home_loss_report
from dosing.take_home_returns import take_home_return
from eligibility.models import Clinic
from monitoring.dashboards.away import away_by_month
from monitoring.dashboards.common import Filters
from tests.dosing.room_setup import register_stock
from tests.dosing.take_home_setup import (
    AT,
    FRI,
    MON,
    SAT,
    SUN,
    TUE,
    in_maintenance,
    on_take_home,
    supply,
)
from tests.factories import PASSWORD, make_staff
from tests.monitoring.scan_setup import london

pytestmark = pytest.mark.django_db

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)
ZEROS = {
    "supplies": 0,
    "doses_supplied": 0,
    "returns": 0,
    "doses_returned": 0,
    "lapses": 0,
    "guest_sessions_hosted": 0,
    "guest_sessions_away": 0,
}


@pytest.fixture
def history(cast):
    person = on_take_home(cast)
    register_stock(cast, ampoules=10)
    given = supply(cast, person, SUN)  # Saturday's and Sunday's PM doses, on 26 November
    take_home_return(
        supply=given,
        dose_ids=[given.doses.order_by("clinic_day").last().pk],
        units=1,
        received_by=cast.nurse,
        witness_username=cast.prescriber.username,
        witness_password=PASSWORD,
        now=london(MON, 10),  # 30 November
    )
    take_home_loss_report(
        supply=given,
        kind="lost",
        doses=1,
        happened_on=MON,
        description="Left on the bus",
        reported_by=cast.nurse,
        now=london(TUE, 10),  # 1 December: the lapse
    )
    # A guest at clinic B on Friday and Saturday, 27 and 28 November.
    manager_b = make_staff(cast.clinic_b, Role.MANAGER, username="manager_b")
    guest = in_maintenance(cast, sessions=False)
    stay = guest_stay_authorise(
        service_user=guest,
        prescriber=cast.prescriber,
        host_clinic=cast.clinic_b,
        first_day=FRI,
        last_day=SAT,
        reason="Visiting family",
        now=AT,
    )
    guest_stay_accept(stay=stay, manager=manager_b, now=AT)
    for clinic in (cast.clinic_a, cast.clinic_b):
        dose_sessions_generate(clinic=clinic, days=[SAT], now=AT)
    return manager_b


def test_each_month_and_clinic_counted_exactly(cast, history, django_assert_num_queries):
    filters = Filters(clinics=Clinic.objects.all(), start=NOV, end=dt.date(2026, 12, 31))
    clinics = list(Clinic.objects.order_by("name"))
    with django_assert_num_queries(4):
        rows = away_by_month(filters, clinics)
    assert rows == [
        {
            "month": NOV,
            "clinic": cast.clinic_a.pk,
            "name": "Clinic A",
            **ZEROS,
            "supplies": 1,
            "doses_supplied": 2,
            "returns": 1,
            "doses_returned": 1,
            "guest_sessions_away": 4,  # AM and PM, Friday and Saturday
        },
        {
            "month": NOV,
            "clinic": cast.clinic_b.pk,
            "name": "Clinic B",
            **ZEROS,
            "guest_sessions_hosted": 4,
        },
        {"month": DEC, "clinic": cast.clinic_a.pk, "name": "Clinic A", **ZEROS, "lapses": 1},
    ]
    # The range cuts by day: December alone has the lapse only.
    december = Filters(clinics=Clinic.objects.all(), start=DEC, end=dt.date(2026, 12, 31))
    assert [row["lapses"] for row in away_by_month(december, clinics)] == [1]


def test_on_the_page_and_as_csv(cast, history):
    with time_machine.travel(london(TUE, 12), tick=False):
        client = cast.client("manager")
        query = {"from": "2026-11-01", "to": "2026-12-01"}
        page = client.get(reverse("dashboard-workload"), query)
        assert page.status_code == 200
        assert "Take-home and guest dosing by month" in page.content.decode()
        exported = client.get(reverse("dashboard-workload"), {**query, "export": "away"})
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0] == [
        "month",
        "clinic",
        "supplies",
        "doses_supplied",
        "returns",
        "doses_returned",
        "lapses",
        "guest_sessions_hosted",
        "guest_sessions_away",
    ]
    # Clinic A's manager sees clinic A's months only.
    assert rows[1:] == [
        ["2026-11", "Clinic A", "1", "2", "1", "1", "0", "0", "4"],
        ["2026-12", "Clinic A", "0", "0", "0", "0", "1", "0", "0"],
    ]
