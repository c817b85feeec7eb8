"""Backup and restore (issue 16, point 9): backup_database, restore_database and
verify_restore refuse bad input in one line, and on PostgreSQL a real backup comes
back whole, while every kind of difference in a restore is named.

The drill with the demo clinic, gunicorn and the app's role is .ci/backup-drill."""

import datetime as dt
import sqlite3
from io import StringIO
from urllib.parse import quote

import dj_database_url
import psycopg2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from dosing.amendments import session_amend
from dosing.models import DoseSession, RegisterEntry
from dosing.register import register_correct
from hat_clinic.management.backup import Database
from tests.dosing.room_setup import DAY, LONDON, dosed_at_nine, on_prescription, register_stock
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

POSTGRESQL = connection.vendor == "postgresql"
UNREACHABLE = "postgres://nobody@127.0.0.1:1/nothing_here"


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def refused(command: str, *args) -> str:
    """The command's refusal: a CommandError of one line, never a traceback."""
    with pytest.raises(CommandError) as refusal:
        run(command, *args)
    message = str(refusal.value)
    assert "\n" not in message, message
    return message


def a_dump_header(tmp_path):
    """A file that starts as pg_dump's custom format does, for the refusals that come
    before pg_restore reads any further."""
    path = tmp_path / "header-only.dump"
    path.write_bytes(b"PGDMP\x01\x0e\x00")
    return path


def test_a_backup_never_overwrites_a_file(tmp_path):
    existing = tmp_path / "hat.dump"
    existing.write_text("last night's backup")
    assert "exists: a backup never overwrites a file" in refused(
        "backup_database", "--output", str(existing)
    )
    assert existing.read_text() == "last night's backup"


def test_a_backup_needs_its_folder(tmp_path):
    assert "There is no folder" in refused(
        "backup_database", "--output", str(tmp_path / "missing" / "hat.dump")
    )


def test_a_restore_of_a_missing_file_is_refused(tmp_path):
    message = refused("restore_database", str(tmp_path / "no.dump"), "--into", UNREACHABLE)
    assert message == f"There is no file {tmp_path / 'no.dump'}."


def test_a_restore_of_a_file_that_is_not_a_backup_is_refused(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("not a dump")
    assert "is not a backup made by backup_database" in refused(
        "restore_database", str(other), "--into", UNREACHABLE
    )


def test_a_sqlite_backup_is_restored_by_copying_it_with_the_app_stopped(tmp_path):
    backup = tmp_path / "hat.sqlite3"
    with sqlite3.connect(backup) as database:
        database.execute("CREATE TABLE t (x)")
    message = refused("restore_database", str(backup), "--into", UNREACHABLE)
    assert "is a SQLite database" in message
    assert "stopping the app and copying it over the database file" in message


@pytest.mark.parametrize(
    ("into", "said"),
    [
        ("sqlite:///var/restored.sqlite3", "Not a PostgreSQL database URL"),
        ("postgres://owner:secret@127.0.0.1:5432/", "Not a PostgreSQL database URL"),
        (UNREACHABLE, "Cannot connect to the server of nothing_here on 127.0.0.1:1 as nobody"),
        # libpq would read such a name as a connection string: another server, say.
        ("postgres://owner:secret@127.0.0.1:1/host=evil", "cannot be a database's name"),
    ],
)
def test_a_restore_target_that_is_no_postgresql_database_is_refused(tmp_path, into, said):
    message = refused("restore_database", str(a_dump_header(tmp_path)), "--into", into)
    assert said in message
    assert "secret" not in message


def test_verify_refuses_an_unreachable_database():
    assert "Cannot connect to nothing_here" in refused("verify_restore", "--target", UNREACHABLE)


@pytest.mark.skipif(POSTGRESQL, reason="this is SQLite's backup")
def test_on_sqlite_a_backup_is_a_consistent_copy_made_while_the_app_runs(tmp_path):
    backup = tmp_path / "hat.sqlite3"
    said = run("backup_database", "--output", str(backup))
    assert "To restore it, stop the app, the worker and beat, and copy it over" in said
    assert backup.stat().st_mode & 0o777 == 0o600  # it holds service users' records
    with sqlite3.connect(backup) as copy:
        tables = {name for (name,) in copy.execute("SELECT name FROM sqlite_master")}
        (migrations,) = copy.execute("SELECT count(*) FROM django_migrations").fetchone()
    assert set(connection.introspection.table_names()) <= tables
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations")
        assert migrations == cursor.fetchone()[0] > 50


@pytest.mark.skipif(POSTGRESQL, reason="on PostgreSQL it verifies")
def test_on_sqlite_verify_says_it_needs_postgresql():
    assert "This needs PostgreSQL" in refused("verify_restore")


# -- PostgreSQL ---------------------------------------------------------------------------

only_postgresql = pytest.mark.skipif(
    not POSTGRESQL, reason="pg_dump and pg_restore are PostgreSQL's (SQLite's backup is above)"
)


def url(settings_dict: dict, name: str) -> str:
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    return f"postgres://{credentials}{settings_dict['HOST']}:{settings_dict['PORT']}/{name}"


@only_postgresql
def test_a_restore_never_goes_into_a_database_that_has_tables(tmp_path):
    here = url(connection.settings_dict, connection.settings_dict["NAME"])
    message = refused("restore_database", str(a_dump_header(tmp_path)), "--into", here)
    assert "is not empty (" in message
    assert "restore only into a new, empty database" in message


@only_postgresql
def test_a_dump_that_cannot_be_read_creates_no_database(tmp_path):
    name = f"{connection.settings_dict['NAME']}_never"
    into = url(connection.settings_dict, name)
    message = refused("restore_database", str(a_dump_header(tmp_path)), "--into", into)
    assert message.startswith(f"Reading {tmp_path / 'header-only.dump'} failed: pg_restore: ")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [name])
        assert cursor.fetchone()[0] == 0


@pytest.fixture
def owner():
    """The settings of a role that may create a database: the tables' owner
    (DATABASE_OWNER_URL, CI's PostgreSQL tier) or the user the suite runs as."""
    chosen = (
        dj_database_url.parse(settings.DATABASE_OWNER_URL)
        if settings.DATABASE_OWNER_URL
        else connection.settings_dict
    )
    server = Database.from_settings(chosen).connect("postgres")
    try:
        with server.cursor() as cursor:
            cursor.execute(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            )
            may_create = cursor.fetchone()[0]
    finally:
        server.close()
    if not may_create:
        pytest.skip("no role here may create a database; .ci/backup-drill restores instead")
    return chosen


@pytest.fixture
def restored_name(owner):
    """A new database's name beside the test database's, dropped after the test."""
    name = f"{connection.settings_dict['NAME']}_restored"
    server = Database.from_settings(owner).connect("postgres")
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    server.cursor().execute(drop)
    yield name
    server.cursor().execute(drop)
    server.close()


def a_clinic_day(cast):
    """A witnessed dose from the register, its witnessed correction (which corrects the
    register's supply too) and a register correction by dated note."""
    register_stock(cast)
    session = dosed_at_nine(cast, on_prescription(cast))
    session_amend(
        session=session,
        amended_by=cast.nurse,
        record="administration",
        sequence=1,
        changes={"drawn_mg": "70", "injected_mg": "60"},
        reason="Mis-keyed",
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        now=dt.datetime.combine(DAY, dt.time(10), tzinfo=LONDON),
    )
    register_correct(
        entry=RegisterEntry.objects.get(kind="receipt"),
        note="The batch is B1/2, not B1.",
        corrected_by=cast.nurse,
    )
    assert DoseSession.objects.filter(administrations__isnull=False).count() == 1
    assert RegisterEntry.objects.filter(kind="correction").count() == 2


@only_postgresql
@pytest.mark.django_db(transaction=True)  # pg_dump sees only what is committed
def test_a_backup_restores_whole_and_verify_names_each_difference(
    cast, tmp_path, owner, restored_name
):
    a_clinic_day(cast)
    source = url(connection.settings_dict, connection.settings_dict["NAME"])
    target = url(owner, restored_name)
    dump = tmp_path / "hat.dump"

    run("backup_database", "--output", str(dump))
    assert dump.stat().st_mode & 0o777 == 0o600  # it holds service users' records
    said = run("restore_database", str(dump), "--into", target)
    assert f"Restored {dump} into {restored_name}" in said
    said = run("verify_restore", "--source", source, "--target", target)
    assert "The restore is whole." in said
    assert "every register section's balance is the sum of its entries" in said

    refused_again = refused("restore_database", str(dump), "--into", target)
    assert "is not empty" in refused_again

    # Now the restore loses a row, a trigger, a sequence's place and a grant, and its
    # register's stored balance is changed behind the app's back.
    with psycopg2.connect(target) as broken, broken.cursor() as cursor:
        cursor.execute(
            "DELETE FROM auth_group_permissions "
            "WHERE id = (SELECT min(id) FROM auth_group_permissions)"
        )
        cursor.execute("DROP TRIGGER dosing_registerentry_append_only ON dosing_registerentry")
        cursor.execute("SELECT setval('auth_user_id_seq', 1)")
        cursor.execute("GRANT DELETE ON dosing_administration TO PUBLIC")
        cursor.execute("UPDATE dosing_registersection SET balance_mg = balance_mg + 100")
    broken.close()

    with pytest.raises(CommandError) as refusal:
        run("verify_restore", "--source", source, "--target", target)
    differences = str(refusal.value)
    for expected in (
        "table public.auth_group_permissions: ",
        "trigger dosing_registerentry.dosing_registerentry_append_only: missing from the restore",
        "append-only table dosing_registerentry: trigger dosing_registerentry_append_only "
        "missing or disabled",
        "sequence public.auth_user_id_seq: ",
        "owner and grants of relation public.dosing_administration: ",
        "table public.dosing_registersection: 1 row in both, but not the same rows",
        "register Diamorphine hydrochloride 100 mg ampoule: the entries add up to 9 ampoules "
        "and 900 mg, but the stored balance says 9 ampoules and 1000 mg",
    ):
        assert expected in differences, differences
    if settings.DATABASE_APP_ROLE:  # CI's PostgreSQL tier: PUBLIC includes the app's role
        assert (
            f"the app's role {settings.DATABASE_APP_ROLE} may DELETE the append-only "
            "dosing_administration" in differences
        )

    # With the source gone, what the restore says of itself is still checked.
    with pytest.raises(CommandError) as refusal:
        run("verify_restore", "--target", target)
    alone = str(refusal.value)
    assert "trigger dosing_registerentry_append_only missing or disabled" in alone
    assert "the stored balance says 9 ampoules and 1000 mg" in alone
    assert "auth_group_permissions" not in alone
