"""Two to ten nurses submitting the same session's dose at the same moment: exactly one
administration, and every other submission told "already recorded".

Real threads, each with its own database connection. On PostgreSQL (the CI tier)
the row lock is what serialises them; on SQLite, the write lock.
"""

import datetime as dt
import random
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from core.errors import Conflict
from core.roles import Role
from dosing.assessment import session_assess
from dosing.models import Administration, DoseSession
from dosing.prescribing import prescription_issue
from dosing.room import dose_administer
from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from eligibility.services import clinic_create
from tests.factories import PASSWORD, make_service_user, make_staff

# The issue's figure is for PostgreSQL; SQLite runs fewer to keep the local suite quick.
TRIALS = {"postgresql": 50}.get(connection.vendor, 10)
LONDON = ZoneInfo("Europe/London")
OPENED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 2, 10)
NINE = dt.datetime(2026, 2, 10, 9, 0, tzinfo=LONDON)


@pytest.mark.django_db(transaction=True)
def test_parallel_submissions_of_one_dose_record_it_once():
    from tests.conftest import _restore_roles

    _restore_roles()
    clinic = clinic_create(name="Race clinic", now=OPENED)
    prescriber = make_staff(clinic, Role.PRESCRIBER)
    nurses = [make_staff(clinic, Role.NURSE) for _ in range(10)]
    hca = make_staff(clinic, Role.HCA)
    rng = random.Random(20261126)
    outcomes = {"recorded": 0, "already_recorded": 0, "other": []}
    duplicates = 0
    for trial in range(TRIALS):
        person = make_service_user(
            clinic, Status.TITRATION, by=prescriber, now=OPENED, family_name=f"Trial{trial}"
        )
        prescription_issue(
            service_user=person,
            prescriber=prescriber,
            slot_doses={"AM": "15"},
            reason="Induction",
            now=OPENED,
        )
        dose_sessions_generate(clinic=clinic, days=[DAY], now=OPENED)
        session = DoseSession.objects.get(service_user=person)
        session_assess(
            session=session, nurse=nurses[0], identity_confirmed=True, poss="1", now=NINE
        )
        parallel = rng.randint(2, 10)
        barrier = threading.Barrier(parallel)
        lock = threading.Lock()

        def submit(nurse, session_id=session.pk, barrier=barrier, lock=lock):
            try:
                barrier.wait()
                dose_administer(
                    session=DoseSession.objects.get(pk=session_id),
                    nurse=nurse,
                    witness_username=hca.username,
                    witness_password=PASSWORD,
                    drawn_mg="15",
                    injected_mg="15",
                    route="iv",
                    site="arm",
                    injected_at=NINE + dt.timedelta(minutes=5),
                    now=NINE + dt.timedelta(minutes=5),
                )
                result = "recorded"
            except Conflict as conflict:
                result = conflict.code
            except Exception as error:
                result = repr(error)
            finally:
                connections.close_all()
            with lock:
                if result in ("recorded", "already_recorded"):
                    outcomes[result] += 1
                else:
                    outcomes["other"].append(result)

        threads = [threading.Thread(target=submit, args=(nurses[i],)) for i in range(parallel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        count = Administration.objects.filter(session=session).count()
        duplicates += max(0, count - 1)
        assert count == 1, f"trial {trial}: {count} administrations from {parallel} submissions"
    print(
        f"\n{TRIALS} trials, {outcomes['recorded'] + outcomes['already_recorded']} "
        f"submissions: {outcomes['recorded']} recorded, {outcomes['already_recorded']} "
        f"already recorded, {duplicates} duplicates"
    )
    assert outcomes["other"] == []
    assert outcomes["recorded"] == TRIALS
    assert duplicates == 0
    assert Decimal(15) * TRIALS == sum(a.injected_mg for a in Administration.objects.all())
