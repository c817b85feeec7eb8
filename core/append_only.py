"""Append-only clinical records, held by the database (issue 16.6).

Controlled drug records are never altered (Misuse of Drugs Regulations 2001,
reg. 20), and no clinical record is silently changed: a mistake is corrected by a
dated amendment, a new version or a new record. The application never updates or
deletes these rows; the database makes sure nothing else can either.

``APPEND_ONLY`` is the one list of such tables, history tables included. After every
``migrate`` (the post_migrate signal, core.apps), ``install`` puts triggers on
each, idempotently, so a table SQLite rebuilt in a migration is protected again and
a table added to the list is protected at the next migrate:

- PostgreSQL refuses UPDATE and DELETE of a row, and TRUNCATE of the table;
- SQLite refuses UPDATE and DELETE.

On PostgreSQL the app also runs as a role that does not own the tables
(``DATABASE_APP_ROLE``, README): it cannot disable a trigger, and ``install`` grants
it no UPDATE, DELETE or TRUNCATE on these tables at all. Emptying the database
(``manage.py flush``, the test suite between transactional tests) is the owner's
business and goes through ``lifted``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

# Model labels. A history table (simple_history's Historical*) is listed beside its
# record; a record that is rightly updated (a session's status, an alert's
# acknowledgement) is not, but its history table is.
APPEND_ONLY = [
    # The pathway and the people, and who read their records.
    "eligibility.StatusChange",
    "eligibility.AccessLog",
    "eligibility.SecondFactorEvent",
    "eligibility.HistoricalServiceUser",
    "eligibility.HistoricalClinic",
    "eligibility.HistoricalStaffMembership",
    "eligibility.HistoricalReferral",
    "eligibility.HistoricalEligibilityAssessment",
    "eligibility.CriterionAnswer",
    "eligibility.TreatmentAgreement",
    "eligibility.ClinicPolicy",
    "eligibility.DoseSlot",
    # Prescribing and reviews.
    "dosing.Prescription",
    "dosing.PrescriptionSlotDose",
    "dosing.PrescriptionCancellation",
    "dosing.MethadonePrescription",
    "dosing.TakeHomePrescription",
    "dosing.TakeHomeSupply",
    "dosing.TakeHomeDose",
    "dosing.TakeHomeLapse",
    "dosing.TakeHomeLoss",
    "dosing.TakeHomeReturn",
    "dosing.TakeHomeReturnedDose",
    "dosing.GuestStay",
    "dosing.GuestStayAcceptance",
    "dosing.GuestStayEnd",
    "dosing.Review",
    "dosing.ServiceClosure",
    "dosing.HistoricalReducingPlan",
    # The dosing room.
    "dosing.HistoricalDoseSession",
    "dosing.Assessment",
    "dosing.Administration",
    "dosing.Observation",
    "dosing.Amendment",
    # Leaving and returning.
    "dosing.HistoricalSuspension",
    "dosing.Exit",
    # The controlled drugs register.
    "dosing.RegisterEntry",
    # Monitoring.
    "alerts.HistoricalAlert",
    "alerts.HistoricalAlertAddress",
    "monitoring.HistoricalToxScreen",
    "monitoring.ToxScreen",
    "monitoring.HistoricalToxScreenResult",
    "monitoring.ToxScreenResult",
    "dosing.HistoricalBreathTest",
    "dosing.HistoricalPharmacy",
    "dosing.BreathTest",
    "monitoring.HistoricalMethadoneCollection",
    "monitoring.MethadoneConflict",
]

FUNCTION = "hat_append_only"


def append_only_tables(apps: "Apps | None" = None) -> list[str]:
    if apps is None:
        from django.apps import apps
    return [apps.get_model(label)._meta.db_table for label in APPEND_ONLY]  # type: ignore[union-attr]


def _postgresql_install(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        # The per-table function of the first migrations, replaced by the shared one.
        f"DROP FUNCTION IF EXISTS {table}_append_only()",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
    ]


def _sqlite_install(table: str) -> list[str]:
    refuse = f"BEGIN SELECT RAISE(ABORT, '{MESSAGE_SQL.format(table=table)}'); END"
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} {refuse}",
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {refuse}",
    ]


def install(connection: "BaseDatabaseWrapper", apps: "Apps | None" = None) -> None:
    """Put the triggers on every listed table (again), and on PostgreSQL give the app's
    role what it may do. Run by the owner after every migrate; safe to run again."""
    tables = append_only_tables(apps)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if not _owns_tables(cursor, tables):
                return  # the app's role, after a test flush: the owner installed them
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$ BEGIN "
                f"RAISE EXCEPTION '{MESSAGE_SQL.format(table='%')}', TG_TABLE_NAME; "
                "END; $$ LANGUAGE plpgsql"
            )
            for table in tables:
                for statement in _postgresql_install(table):
                    cursor.execute(statement)
            _grant_app_role(cursor, tables)
        elif connection.vendor == "sqlite":
            for table in tables:
                for statement in _sqlite_install(table):
                    cursor.execute(statement)


def _owns_tables(cursor: "CursorWrapper", tables: list[str]) -> bool:
    cursor.execute(
        "SELECT pg_catalog.pg_has_role(current_user, tableowner, 'USAGE') "
        "FROM pg_catalog.pg_tables WHERE tablename = %s",
        [tables[0]],
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def _grant_app_role(cursor: "CursorWrapper", tables: list[str]) -> None:
    """DATABASE_APP_ROLE, when set, may read and write every table but change no
    append-only one: no UPDATE, DELETE or TRUNCATE there, and it owns nothing."""
    from django.conf import settings

    role = settings.DATABASE_APP_ROLE
    if not role:
        return
    quoted = '"' + role.replace('"', '""') + '"'
    cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    cursor.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"
    )
    # UPDATE for setval: the synthetic history's bulk load sets its sequences after.
    cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    cursor.execute(f"REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM {quoted}")
    for table in tables:
        cursor.execute(f"REVOKE UPDATE, DELETE ON {table} FROM {quoted}")


@contextmanager
def lifted(cursor: "CursorWrapper") -> Iterator[None]:
    """For the owner emptying the database: the triggers do not fire inside. PostgreSQL
    needs a superuser for this (session_replication_role); SQLite drops the DELETE
    triggers and puts them back."""
    vendor = cursor.db.vendor
    if vendor == "postgresql":
        cursor.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
    elif vendor == "sqlite":
        tables = append_only_tables()
        for table in tables:
            cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        try:
            yield
        finally:
            for table in tables:  # flush's post_migrate may have put them back already
                for statement in _sqlite_install(table)[2:]:
                    cursor.execute(statement)
    else:
        yield


MESSAGE = "append-only: {table} rows are never changed; record an amendment instead"
# The same, for SQL written into a trigger: PostgreSQL's RAISE takes % for the table.
MESSAGE_SQL = "append-only: {table} rows are never changed or removed; record an amendment instead"


def _postgresql(table: str) -> tuple[str, str]:
    function = f"{table}_append_only"
    forwards = f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '{MESSAGE.format(table=table)}';
        END;
        $$ LANGUAGE plpgsql;
        CREATE TRIGGER {function}
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {function}();
    """
    backwards = (
        f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();"
    )
    return forwards, backwards


def _sqlite(table: str) -> tuple[str, str]:
    trigger = f"{table}_append_only"
    forwards = f"""
        CREATE TRIGGER IF NOT EXISTS {trigger} BEFORE UPDATE ON {table}
        BEGIN SELECT RAISE(ABORT, '{MESSAGE.format(table=table)}'); END;
    """
    return forwards, f"DROP TRIGGER IF EXISTS {trigger};"
