"""The database itself refuses to change append-only clinical records."""

import pytest
from django.db import DatabaseError, connection, transaction

from dosing.models import Administration, Assessment, DoseSession, Prescription, Review
from dosing.services import review_record
from eligibility.models import Clinic, ServiceUser, StaffMembership, StatusChange
from tests.dosing.room_setup import NINE, dosed_at_nine, on_prescription

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(cast):
    person = on_prescription(cast, slot_doses={"AM": "60"})
    dosed_at_nine(cast, person)
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
    # Every protected history table, including those SQLite rebuilt in a migration.
    (DoseSession.history.model, {"history_change_reason": "rewritten"}),
    (Clinic.history.model, {"history_change_reason": "rewritten"}),
    (StaffMembership.history.model, {"history_change_reason": "rewritten"}),
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
