"""The database itself refuses to change append-only clinical records (issue 16.6).

One registry, core.append_only.APPEND_ONLY, lists every such table, history
tables included; migrate installs the triggers on each. Checked here: the triggers
are on every listed table, installing twice changes nothing, and on a set of real
records UPDATE and DELETE are refused (and TRUNCATE, on PostgreSQL), in the tables
the probe found open: monitoring, referral, assessment and suspension history, tox
results, breath tests, criterion answers, policy, slots, agreements and the register.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from core.append_only import APPEND_ONLY, append_only_tables, install
from dosing.breath import breath_test_record
from dosing.leaving import suspension_start
from dosing.models import (
    Administration,
    Assessment,
    BreathTest,
    DoseSession,
    Prescription,
    RegisterEntry,
    Review,
    Suspension,
)
from dosing.register import register_receive, register_section_add
from dosing.reviews import review_record
from eligibility.models import (
    Clinic,
    ClinicPolicy,
    CriterionAnswer,
    DoseSlot,
    EligibilityAssessment,
    Referral,
    ServiceUser,
    StaffMembership,
    StatusChange,
    TreatmentAgreement,
)
from eligibility.pathway import service_user_admit
from monitoring.models import ToxScreen, ToxScreenResult
from monitoring.records import tox_screen_record
from tests.dosing.room_setup import NINE, dosed_at_nine, on_prescription
from tests.eligibility.pathway_setup import accept, assess, refer

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(cast):
    person = on_prescription(cast, slot_doses={"AM": "60"})
    dosed_at_nine(cast, person)
    review_record(
        service_user=person, prescriber=cast.prescriber, decision="continue", notes="Fine", now=NINE
    )
    tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=NINE.date(),
        results={"papaverine": "negative"},
        now=NINE,
    )
    breath_test_record(service_user=person, recorded_by=cast.nurse, reading="0", now=NINE)
    suspension_start(
        service_user=person,
        kind="hospital",
        starts_on=NINE.date(),
        reason="Admitted to hospital",
        recorded_by=cast.nurse,
        now=NINE,
    )
    referral = refer(cast, now=NINE)
    assess(cast, referral, now=NINE)
    accept(cast, referral, now=NINE)
    service_user_admit(
        service_user=referral.service_user,
        admitted_by=cast.prescriber,
        agreement_signed_on=NINE.date(),
        witness=cast.nurse,
        now=NINE,
    )
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True)
    register_receive(
        section=section,
        ampoules=2,
        supplier_name="Wholesale",
        supplier_address="1 Depot Rd",
        batch="B1",
        expiry=dt.date(2027, 1, 31),
        received_by=cast.nurse,
        now=NINE,
    )
    return person


# A model of each area, and the history tables the probe could change.
CHANGED = [
    Administration,
    Assessment,
    Prescription,
    Review,
    StatusChange,
    RegisterEntry,
    ToxScreen,
    ToxScreenResult,
    BreathTest,
    CriterionAnswer,
    ClinicPolicy,
    DoseSlot,
    TreatmentAgreement,
    ServiceUser.history.model,
    DoseSession.history.model,
    Clinic.history.model,
    StaffMembership.history.model,
    Referral.history.model,
    EligibilityAssessment.history.model,
    Suspension.history.model,
    ToxScreen.history.model,
    BreathTest.history.model,
]
IDS = [model.__name__ for model in CHANGED]


def refused(statement):
    """Refused by the trigger, or, for the app's role that owns nothing (CI's
    PostgreSQL tier), before it by the missing privilege."""
    with pytest.raises(DatabaseError) as refusal, transaction.atomic():
        statement()
    assert "append-only" in str(refusal.value) or "permission denied" in str(refusal.value)


def _owns_the_tables() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables "
            "WHERE tablename = 'dosing_registerentry'"
        )
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="roles are PostgreSQL's")
def test_the_apps_role_can_neither_lift_a_trigger_nor_change_a_record(records):
    """Run as the app's role (CI's PostgreSQL tier, DATABASE_OWNER_URL set): it owns no
    table, so it cannot disable a trigger, and it holds no UPDATE, DELETE or TRUNCATE
    on an append-only table. Run as the owner, the triggers alone refuse."""
    if _owns_the_tables():
        assert not settings.DATABASE_OWNER_URL, "with an owner set, the suite runs as the app"
        pytest.skip("the suite runs as the tables' owner here; CI's PostgreSQL tier does not")
    with pytest.raises(DatabaseError) as refusal, transaction.atomic():
        connection.cursor().execute(
            "ALTER TABLE dosing_registerentry DISABLE TRIGGER dosing_registerentry_append_only"
        )
    assert "must be owner" in str(refusal.value)
    for statement in (
        "UPDATE dosing_registerentry SET note = 'x'",
        "DELETE FROM dosing_registerentry",
        "TRUNCATE dosing_registerentry CASCADE",
    ):
        with pytest.raises(DatabaseError) as refusal, transaction.atomic():
            connection.cursor().execute(statement)
        assert "permission denied" in str(refusal.value), statement


def a_field(model):
    return next(
        f.name
        for f in model._meta.concrete_fields
        if not f.primary_key and not f.is_relation and f.get_internal_type() != "BooleanField"
    )


@pytest.mark.parametrize("model", CHANGED, ids=IDS)
def test_an_update_is_refused_by_the_database(records, model):
    assert model.objects.exists(), "the fixture made one to change"
    field = a_field(model)
    value = model.objects.values_list(field, flat=True).first()
    refused(lambda: model.objects.all().update(**{field: value}))


@pytest.mark.parametrize("model", CHANGED, ids=IDS)
def test_a_delete_is_refused_by_the_database(records, model):
    refused(lambda: model.objects.all()._raw_delete(model.objects.db))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no TRUNCATE")
@pytest.mark.parametrize("model", [RegisterEntry, Administration, StatusChange], ids=str)
def test_truncate_is_refused_on_postgresql(records, model):
    refused(lambda: connection.cursor().execute(f"TRUNCATE {model._meta.db_table} CASCADE"))


def _triggers() -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
                "AND t.tgenabled = 'O'"
            )
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        found: dict[str, set[str]] = {}
        for table, name in cursor.fetchall():
            found.setdefault(table, set()).add(name)
    return found


def test_every_listed_table_has_its_triggers_and_installing_again_changes_nothing():
    expected = (
        {"append_only", "no_truncate"}
        if connection.vendor == "postgresql"
        else {"append_only", "no_delete"}
    )
    tables = append_only_tables()
    assert len(tables) == len(APPEND_ONLY) >= 35
    before = _triggers()
    for table in tables:
        assert {name.removeprefix(f"{table}_") for name in before.get(table, ())} == expected, table
    install(connection)
    assert _triggers() == before
