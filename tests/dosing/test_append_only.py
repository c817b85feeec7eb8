"""The database itself refuses to change append-only clinical records."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, transaction

from dosing.models import Administration, Assessment, Prescription, Review
from dosing.room import dose_administer, session_assess
from dosing.services import prescription_issue, review_record
from dosing.sessions import dose_sessions_generate
from eligibility.models import ServiceUser, Status, StatusChange
from tests.factories import PASSWORD, make_service_user

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NINE = dt.datetime(2026, 2, 10, 9, 0, tzinfo=LONDON)
SET_UP = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def records(cast):
    person = make_service_user(cast.clinic_a, Status.TITRATION, by=cast.prescriber, now=SET_UP)
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60"},
        documented_transfer=True,
        reason="Transfer",
        now=SET_UP,
    )
    dose_sessions_generate(clinic=cast.clinic_a, days=[NINE.date()], now=SET_UP)
    session = person.dose_sessions.get()
    session_assess(session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=NINE)
    dose_administer(
        session=session,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        drawn_mg="60",
        injected_mg="60",
        route="iv",
        site="arm",
        now=NINE,
    )
    review_record(
        service_user=person, prescriber=cast.prescriber, decision="continue", notes="Fine", now=NINE
    )
    return person


UPDATES = [
    (Administration, {"injected_mg": 1}),
    (Assessment, {"poss": "4"}),
    (Prescription, {"reason": "rewritten"}),
    (Review, {"notes": "rewritten"}),
    (StatusChange, {"reason": "rewritten"}),
    (ServiceUser.history.model, {"history_change_reason": "rewritten"}),
]


@pytest.mark.parametrize(("model", "values"), UPDATES, ids=lambda v: getattr(v, "__name__", ""))
def test_an_update_is_refused_by_the_database(records, model, values):
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        model.objects.all().update(**values)
    assert "append-only" in str(refused.value)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="DELETE triggers are PostgreSQL only (SQLite's test flush deletes)",
)
@pytest.mark.parametrize(
    "model", [Administration, Prescription, StatusChange], ids=lambda m: m.__name__
)
def test_a_delete_is_refused_on_postgresql(records, model):
    with pytest.raises(DatabaseError) as refused, transaction.atomic():
        model.objects.all()._raw_delete(model.objects.db)
    assert "append-only" in str(refused.value)
