"""The migrations squashed (issue 17.6): a new database and one upgraded from the last
main before the squash end identical on PostgreSQL: tables and columns, constraints,
indexes, the append-only triggers and their functions, sequences, grants to the app
role, content types, permissions and the roles' grants. The upgraded one keeps its
permissions' ids, so every role that held one still does.

data/schema-at-75b3c0c.sql.gz is `pg_dump --no-owner --no-privileges` of a database
migrated by commit 75b3c0c (the main before the squash), as a clinic running it has.
Each database here is made and migrated as production does it: by the owner, in a
process of its own, with DATABASE_APP_ROLE granted what it may do.
"""

import gzip
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from hat_clinic.management.backup import Database, fetch

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the upgrade is checked on PostgreSQL"
)
ROOT = Path(__file__).resolve().parents[2]
AT_75B3C0C = Path(__file__).parent / "data" / "schema-at-75b3c0c.sql.gz"
# The tables that moved app in the squash, by their old and new content types.
MOVED = {
    ("monitoring", "alert"): ("alerts", "alert"),
    ("monitoring", "alertaddress"): ("alerts", "alertaddress"),
    ("monitoring", "historicalalert"): ("alerts", "historicalalert"),
    ("monitoring", "historicalalertaddress"): ("alerts", "historicalalertaddress"),
    ("monitoring", "breathtest"): ("dosing", "breathtest"),
    ("monitoring", "historicalbreathtest"): ("dosing", "historicalbreathtest"),
}

SNAPSHOT = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default,
               character_maximum_length, numeric_precision, numeric_scale, is_identity
        FROM information_schema.columns WHERE table_schema = 'public'""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace""",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
        FROM pg_trigger WHERE NOT tgisinternal""",
    "functions": """
        SELECT proname, pg_get_functiondef(oid) FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace""",
    "sequences": """
        SELECT sequence_name, data_type, start_value, increment
        FROM information_schema.sequences WHERE sequence_schema = 'public'""",
    "table grants": """
        SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
        WHERE table_schema = 'public' AND grantee <> current_user""",
    "content types": "SELECT app_label, model FROM django_content_type",
    "permissions": """
        SELECT ct.app_label, ct.model, p.codename, p.name
        FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id""",
    "roles' grants": """
        SELECT g.name, ct.app_label, p.codename
        FROM auth_group g JOIN auth_group_permissions gp ON gp.group_id = g.id
        JOIN auth_permission p ON p.id = gp.permission_id
        JOIN django_content_type ct ON ct.id = p.content_type_id""",
}


def owner() -> Database:
    """The owner of the databases (CI's DATABASE_OWNER_URL), or the suite's own user."""
    if settings.DATABASE_OWNER_URL:
        return Database.from_url(settings.DATABASE_OWNER_URL)
    return Database.from_settings(connection.settings_dict)


@pytest.fixture
def databases():
    """Two new, empty databases on the server; dropped afterwards."""
    server = owner()
    names = [f"hat_squash_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("new", "upgraded")]
    admin = server.connect("postgres")
    try:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(f'CREATE DATABASE "{name}"')
        yield [server.named(name) for name in names]
    finally:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def migrate(database: Database) -> None:
    url = (
        f"postgres://{database.user}:{database.password}@{database.host or '127.0.0.1'}:"
        f"{database.port or 5432}/{database.name}"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DATABASE_OWNER_URL": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def load(database: Database, dump: Path) -> None:
    done = subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", database.name],
        input=gzip.decompress(dump.read_bytes()).decode(),
        env=database.environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _as_meant(definition: str) -> str:
    """A CHECK constraint or a partial index's condition as PostgreSQL prints it
    differs after pg_dump and psql read it back (casts moved in and out of the array):
    compared without the casts, the parentheses and the spaces, the meaning is
    compared, not the printing."""
    return re.sub(r"::[a-z ]+(\[\])?|[()\s]", "", definition)


def snapshot(database: Database) -> dict[str, list]:
    with database.connect() as link:
        parts = {name: sorted(fetch(link, query)) for name, query in SNAPSHOT.items()}
    for part in ("constraints", "indexes"):
        parts[part] = sorted(
            (table, name, _as_meant(definition)) for table, name, definition in parts[part]
        )
    return parts


def permission_ids(database: Database) -> dict[tuple, int]:
    with database.connect() as link:
        rows = fetch(
            link,
            """SELECT ct.app_label, ct.model, p.codename, p.id FROM auth_permission p
               JOIN django_content_type ct ON ct.id = p.content_type_id""",
        )
    return {(app, model, codename): pk for app, model, codename, pk in rows}


def test_a_new_database_and_one_upgraded_from_the_last_main_end_identical(databases):
    new, upgraded = databases
    migrate(new)
    load(upgraded, AT_75B3C0C)
    before = permission_ids(upgraded)
    migrate(upgraded)

    fresh, moved_on = snapshot(new), snapshot(upgraded)
    differences = [
        f"{part}: only on the new database {sorted(set(fresh[part]) - set(moved_on[part]))}; "
        f"only on the upgraded one {sorted(set(moved_on[part]) - set(fresh[part]))}"
        for part in SNAPSHOT
        if fresh[part] != moved_on[part]
    ]
    assert not differences, "\n".join(differences)
    assert len(fresh["triggers"]) > 20 and len(fresh["roles' grants"]) > 50  # not empty

    after = permission_ids(upgraded)
    for (app, model), (new_app, new_model) in MOVED.items():
        kept = {codename: pk for (a, m, codename), pk in before.items() if (a, m) == (app, model)}
        assert kept, f"the dump has {app}.{model}'s permissions"
        for codename, pk in kept.items():
            assert after[(new_app, new_model, codename)] == pk, (new_app, new_model, codename)
