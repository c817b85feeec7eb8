"""Backup, restore and the check that a restore is whole (issue 16, point 9).

A backup is ``pg_dump``'s custom format: one file holding the tables, their rows, the
append-only triggers (core.append_only) and every GRANT, so that a restore comes
back as migrate left the original: owned by the owner, with the app's role able to do
exactly what it could before and no more. A restore goes into a new, empty database,
never over the one that failed, so nothing of it mixes in and it stays for the
investigation; it is all or nothing (one transaction).

A restore is only trusted once checked (``verify``): the same rows in every table as
the source, the same triggers and privileges, every append-only table protected, the
app's role unable to change one, and every register section's balance the sum of its
entries. The commands backup_database, restore_database and verify_restore and CI's
drill (.ci/backup-drill) use these functions; README, "Backup and restore".

On SQLite, the default for a single machine, a backup is a copy made with SQLite's
online backup API, consistent while the app runs; it is restored by copying it back
with the app stopped.
"""

import datetime as dt
import os
import re
import sqlite3
import subprocess
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import dj_database_url
import psycopg2
from django.core.management.base import CommandError
from psycopg2 import sql

PG_DUMP_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database to connect to, from a URL or Django's settings."""

    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def from_settings(cls, settings_dict: dict) -> "Database":
        if settings_dict["ENGINE"] != "django.db.backends.postgresql":
            raise CommandError(
                f"This needs PostgreSQL; the database is {settings_dict['ENGINE']} "
                f"({settings_dict['NAME']})."
            )
        return cls(
            name=str(settings_dict["NAME"]),
            user=settings_dict.get("USER") or "",
            password=settings_dict.get("PASSWORD") or "",
            host=settings_dict.get("HOST") or "",
            port=str(settings_dict.get("PORT") or ""),
        )

    @classmethod
    def from_url(cls, url: str) -> "Database":
        try:
            parsed = dj_database_url.parse(url)
        except ValueError as error:
            raise CommandError(
                f"Not a database URL: {_without_password(url)!r} ({error})."
            ) from error
        if parsed.get("ENGINE") != "django.db.backends.postgresql" or not parsed.get("NAME"):
            raise CommandError(
                f"Not a PostgreSQL database URL: {_without_password(url)!r}. Give one such as "
                "postgres://owner@db:5432/hat_clinic_restored."
            )
        return cls.from_settings(parsed)

    def named(self, name: str) -> "Database":
        """Another database on the same server, reached as the same user."""
        return Database(name, self.user, self.password, self.host, self.port)

    def __str__(self) -> str:  # never the password
        where = f"{self.host or 'localhost'}{':' + self.port if self.port else ''}"
        return f"{self.name} on {where}" + (f" as {self.user}" if self.user else "")

    def environment(self) -> dict[str, str]:
        """libpq's variables for pg_dump and pg_restore: the password stays off the
        command line, where any user of the machine could read it."""
        values = {
            "PGDATABASE": self.name,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGHOST": self.host,
            "PGPORT": self.port,
        }
        return {**os.environ, **{key: value for key, value in values.items() if value}}

    def connect(self, name: str | None = None, *, reaching: str = ""):
        """A psycopg2 connection (to another database of the server if named), or a
        one-line CommandError saying why not: reaching what, and the server's reason."""
        try:
            connection = psycopg2.connect(
                dbname=name or self.name,
                user=self.user or None,
                password=self.password or None,
                host=self.host or None,
                port=self.port or None,
                connect_timeout=10,
            )
        except psycopg2.OperationalError as error:
            reason = str(error).strip().splitlines()[-1].split("FATAL:")[-1].strip()
            reaching = reaching or str(self.named(name or self.name))
            raise CommandError(f"Cannot connect to {reaching}: {reason}") from error
        connection.autocommit = True
        return connection


def _without_password(url: str) -> str:
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:…@", url)


def _fetch(connection, query: str, parameters=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, parameters)
        return cursor.fetchall()


def _run(command: list[str], database: Database, what: str) -> None:
    try:
        done = subprocess.run(
            command, env=database.environment(), capture_output=True, text=True, check=False
        )
    except FileNotFoundError as error:
        raise CommandError(
            f"{command[0]} is not installed: install the PostgreSQL client of the server's "
            "version (Debian: apt-get install postgresql-client)."
        ) from error
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise CommandError(f"{what} failed: {' '.join(lines[-3:]) or done.returncode}")


# -- Backup ------------------------------------------------------------------------------


def _check_new_file(output: Path) -> None:
    if output.exists():
        raise CommandError(f"{output} exists: a backup never overwrites a file. Name a new one.")
    if not output.parent.is_dir():
        raise CommandError(f"There is no folder {output.parent} to write {output.name} in.")


def backup_postgresql(database: Database, output: Path) -> int:
    """pg_dump's custom format, written beside the output first and renamed when whole,
    so that a dump that failed half-way never looks like a backup. Returns its size."""
    _check_new_file(output)
    partial = output.with_name(output.name + ".partial")
    # Only its owner may read a backup: it holds service users' records.
    partial.unlink(missing_ok=True)  # a killed run's leftover
    partial.touch(mode=0o600)
    try:
        _run(
            ["pg_dump", "--format=custom", "--no-password", f"--file={partial}"],
            database,
            f"pg_dump of {database}",
        )
        partial.rename(output)
    finally:
        partial.unlink(missing_ok=True)
    return output.stat().st_size


def backup_sqlite(path: Path, output: Path) -> int:
    """A consistent copy through SQLite's online backup API: safe while the app, the
    worker and beat write to the file, which copying the file (and its WAL) is not."""
    _check_new_file(output)
    if not path.is_file():
        raise CommandError(f"There is no SQLite database at {path}.")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    # Only its owner may read a backup: it holds service users' records.
    output.touch(mode=0o600, exist_ok=False)
    target = sqlite3.connect(output)
    try:
        with target:
            source.backup(target)
    finally:
        target.close()
        source.close()
    return output.stat().st_size


# -- Restore -----------------------------------------------------------------------------


def check_dump(path: Path) -> None:
    """A custom-format dump, or a one-line refusal saying what the file is instead."""
    if not path.is_file():
        raise CommandError(f"There is no file {path}.")
    with path.open("rb") as file:
        start = file.read(len(SQLITE_MAGIC))
    if start.startswith(SQLITE_MAGIC):
        raise CommandError(
            f"{path} is a SQLite database (a SQLite backup): restore it by stopping the app "
            "and copying it over the database file; restore_database is for PostgreSQL."
        )
    if not start.startswith(PG_DUMP_MAGIC):
        raise CommandError(
            f"{path} is not a backup made by backup_database (pg_dump's custom format)."
        )


def _relation_count(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
            "AND n.nspname NOT IN %s AND n.nspname NOT LIKE 'pg_toast%%'",
            [SYSTEM_SCHEMAS],
        )
        return cursor.fetchone()[0]


def _check_new_or_empty(target: Database) -> bool:
    """The target must be new, or an existing database with nothing in it. Returns
    whether it exists."""
    with closing(_connect_server(target)) as server:
        exists = bool(_fetch(server, "SELECT 1 FROM pg_database WHERE datname = %s", [target.name]))
    if exists:
        with closing(target.connect()) as connection:
            relations = _relation_count(connection)
        if relations:
            raise CommandError(
                f"{target} is not empty ({relations} tables, views or sequences): restore "
                "only into a new, empty database, so that nothing of another mixes in."
            )
    return exists


def _create(target: Database) -> None:
    with closing(_connect_server(target)) as server, server.cursor() as cursor:
        try:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.name)))
        except psycopg2.Error as error:
            raise CommandError(
                f"Cannot create {target}: {first_line(error)}. Create it "
                "empty as the owner (createdb), or restore as a role that may."
            ) from error


def first_line(error: Exception) -> str:
    """A database error's first line: what went wrong, without the server's hints."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _drop(target: Database) -> None:
    with closing(_connect_server(target)) as server, server.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(target.name)))


def _connect_server(target: Database):
    """The server's maintenance database, to see and create databases from."""
    reaching = f"the server of {target}"
    try:
        return target.connect("postgres", reaching=reaching)
    except CommandError as error:
        if 'database "postgres" does not exist' not in str(error):
            raise
        return target.connect("template1", reaching=reaching)


def restore_postgresql(dump: Path, target: Database) -> int:
    """Restore a custom-format dump into a new, empty database in one transaction, with
    owners and grants as dumped, then gather the planner's statistics (a dump holds
    none). Returns how many tables the database has.

    The whole dump is read (pg_restore --list) before a database is created, and a
    database created here is dropped again if the restore fails: it holds nothing then,
    and a second try starts as the first did."""
    check_dump(dump)
    if "=" in target.name or target.name.startswith(("postgres://", "postgresql://")):
        raise CommandError(
            f"{target.name!r} cannot be a database's name here: give a plain name such as "
            "hat_clinic_restored."
        )
    existed = _check_new_or_empty(target)
    _run(["pg_restore", "--list", str(dump)], target, f"Reading {dump}")
    if not existed:
        _create(target)
    try:
        _run(
            [
                "pg_restore",
                "--exit-on-error",
                "--single-transaction",
                "--no-password",
                f"--dbname={target.name}",
                str(dump),
            ],
            target,
            f"pg_restore into {target} (nothing was restored)",
        )
    except CommandError as failure:
        if not existed:
            try:
                _drop(target)
            except (CommandError, psycopg2.Error) as error:
                raise CommandError(
                    f"{failure} The database {target.name} it created could not be dropped "
                    f"({first_line(error)}): drop it before trying again."
                ) from failure
        raise
    with closing(target.connect()) as connection:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return len(_tables(connection))


# -- Verification ------------------------------------------------------------------------


def _tables(connection) -> list[tuple[str, str]]:
    return _fetch(
        connection,
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN %s ORDER BY 1, 2",
        [SYSTEM_SCHEMAS],
    )


def _contents(connection) -> dict[str, tuple[int, str]]:
    """Each table's row count and a fingerprint of its rows (the sum of each row's hash,
    so the order they come back in does not matter): equal rows, equal figures."""
    found = {}
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")  # so dates read the same in both
        for schema, table in _tables(connection):
            cursor.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) "
                    "FROM {} t"
                ).format(sql.Identifier(schema, table))
            )
            count, fingerprint = cursor.fetchone()
            found[f"{schema}.{table}"] = (count, str(fingerprint))
    return found


def _sequences(connection) -> dict[str, int | None]:
    return dict(
        _fetch(
            connection,
            "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences "
            "WHERE schemaname NOT IN %s",
            [SYSTEM_SCHEMAS],
        )
    )


def _triggers(connection) -> dict[str, tuple[str, str]]:
    """Every trigger of ours (not a foreign key's), by table and name: whether it
    fires, and its definition."""
    return {
        f"{table}.{name}": ("enabled" if enabled in "OA" else "disabled", definition)
        for table, name, enabled, definition in _fetch(
            connection,
            "SELECT c.relname, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid) "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND n.nspname NOT IN %s",
            [SYSTEM_SCHEMAS],
        )
    }


def _trigger(was: tuple[str, str], now: tuple[str, str]) -> str:
    if was[1] == now[1]:
        return f"{was[0]} in the source, {now[0]} restored"
    return f"{was[1]} in the source, {now[1]} restored"


def _privileges(connection) -> dict[str, str]:
    """Who owns each table, sequence, view, function and schema, and who was granted
    what on it (and on the database itself, which pg_dump does not carry)."""
    rows = _fetch(
        connection,
        "SELECT 'relation ' || n.nspname || '.' || c.relname, "
        "pg_get_userbyid(c.relowner) || ' ' || coalesce(c.relacl::text, 'default') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN %(system)s "
        "AND n.nspname NOT LIKE 'pg_toast%%' "
        "UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname, "
        "pg_get_userbyid(p.proowner) || ' ' || coalesce(p.proacl::text, 'default') "
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname NOT IN %(system)s "
        "UNION ALL SELECT 'schema ' || nspname, "
        "pg_get_userbyid(nspowner) || ' ' || coalesce(nspacl::text, 'default') "
        "FROM pg_namespace WHERE nspname NOT IN %(system)s AND nspname NOT LIKE 'pg_%%' "
        "UNION ALL SELECT 'the database itself', "
        "pg_get_userbyid(datdba) || ' ' || coalesce(datacl::text, 'default') "
        "FROM pg_database WHERE datname = current_database()",
        {"system": SYSTEM_SCHEMAS},
    )
    return dict(rows)


def _compare(what: str, source: dict, target: dict, describe=None) -> list[str]:
    """One line for each key missing on either side or with another value."""
    describe = describe or (lambda was, now: f"{was} in the source, {now} restored")
    differences = []
    for key in sorted(source.keys() | target.keys()):
        if key not in target:
            differences.append(f"{what} {key}: missing from the restore")
        elif key not in source:
            differences.append(f"{what} {key}: in the restore only")
        elif source[key] != target[key]:
            differences.append(f"{what} {key}: {describe(source[key], target[key])}")
    return differences


def _rows(was: tuple[int, str], now: tuple[int, str]) -> str:
    def rows(count: int) -> str:
        return f"{count} row" + ("" if count == 1 else "s")

    if was[0] != now[0]:
        return f"{rows(was[0])} in the source, {now[0]} restored"
    return f"{rows(was[0])} in both, but not the same rows"


def _append_only_protected(connection) -> list[str]:
    """Every table of core.append_only's registry carries the triggers its
    ``install`` puts on, enabled."""
    from core.append_only import _postgresql_install, append_only_tables

    enabled = {
        (table, name)
        for table, name in _fetch(
            connection,
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')",
        )
    }
    missing = []
    for table in append_only_tables():
        # The names install gives them, read from its own statements.
        for name in re.findall(r"CREATE TRIGGER (\w+)", " ".join(_postgresql_install(table))):
            if (table, name) not in enabled:
                missing.append(f"append-only table {table}: trigger {name} missing or disabled")
    return missing


def _app_role_refused(connection, role: str) -> list[str]:
    """The app's role as migrate left it: not a superuser, owner of no table, and
    without UPDATE, DELETE or TRUNCATE on any append-only table."""
    from core.append_only import append_only_tables

    found = _fetch(connection, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
    if not found:
        return [f"the app's role {role} does not exist on the restored database's server"]
    problems = []
    if found[0][0]:
        problems.append(f"the app's role {role} is a superuser: no grant holds it")
    owned = _fetch(
        connection,
        "SELECT tablename FROM pg_tables WHERE schemaname NOT IN %s "
        "AND pg_has_role(%s, tableowner, 'USAGE') ORDER BY 1",
        [SYSTEM_SCHEMAS, role],
    )
    problems += [
        f"the app's role {role} owns {table}: it could lift triggers" for (table,) in owned
    ]
    held = _fetch(
        connection,
        "SELECT t.name, p.name FROM unnest(%s::text[]) AS t(name), "
        "unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p(name) "
        "WHERE has_table_privilege(%s, t.name, p.name) ORDER BY 1, 2",
        [append_only_tables(), role],
    )
    problems += [
        f"the app's role {role} may {privilege} the append-only {table}"
        for table, privilege in held
    ]
    return problems


@contextmanager
def _as_default(database: Database):
    """Run the ORM on this database for a while: the register's integrity scan is
    written for the app's own database, and is reused here as it is."""
    from django.db import connections
    from django.db.utils import load_backend

    current = connections["default"]
    settings_dict = {
        **current.settings_dict,
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database.name,
        "USER": database.user,
        "PASSWORD": database.password,
        "HOST": database.host,
        "PORT": database.port,
        "OPTIONS": {},
        "CONN_MAX_AGE": 0,
    }
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
    connections["default"] = wrapper
    try:
        yield
    finally:
        wrapper.close()
        connections["default"] = current


def _register_out_of_balance(database: Database) -> list[str]:
    """dosing.register.register_integrity_scan, run on the restore and rolled back: each
    section whose stored balance, or last entry's running balance, is not the sum of its
    entries raises an alert, read here and then undone with the rest of the scan.

    The scan raises one alert per section and day, so it runs as of a day after any
    integrity alert already on record: none can hide a section found wrong today."""
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone

    from alerts.models import Alert, AlertKind
    from dosing.register_checks import register_integrity_scan

    with _as_default(database), transaction.atomic():
        integrity = Alert.objects.filter(
            kind=AlertKind.REGISTER_DISCREPANCY, cause_key__startswith="integrity:"
        )
        latest = integrity.aggregate(latest=Max("created_at"))["latest"]
        now = timezone.now()
        if latest is not None:
            now = max(now, latest + dt.timedelta(days=1))
        register_integrity_scan(now=now)
        found = [
            f"register {alert.detail}"
            for alert in integrity.filter(created_at=now).order_by("detail")
        ]
        transaction.set_rollback(True)
    return found


def verify(
    target: Database, *, source: Database | None, app_role: str
) -> tuple[list[str], list[str]]:
    """Check a restored database, against its source when that is still there.
    Returns what was checked and every difference found (none: the restore is whole)."""
    checked, differences = [], []
    with closing(target.connect()) as restored:
        if source is not None:
            with closing(source.connect()) as original:
                contents = _contents(original)
                differences += _compare("table", contents, _contents(restored), _rows)
                rows = sum(count for count, _ in contents.values())
                checked.append(f"{len(contents)} tables, {rows} rows: the same rows as the source")
                differences += _compare("sequence", _sequences(original), _sequences(restored))
                checked.append("every sequence goes on from where the source's was")
                differences += _compare(
                    "trigger", _triggers(original), _triggers(restored), _trigger
                )
                differences += _compare(
                    "owner and grants of", _privileges(original), _privileges(restored)
                )
                checked.append("the same triggers, owners and grants as the source")
        differences += _append_only_protected(restored)
        checked.append("every append-only table has its UPDATE, DELETE and TRUNCATE triggers")
        if app_role:
            differences += _app_role_refused(restored, app_role)
            checked.append(
                f"{app_role} owns no table and may not UPDATE, DELETE or TRUNCATE an "
                "append-only one"
            )
    differences += _register_out_of_balance(target)
    checked.append("every register section's balance is the sum of its entries")
    return checked, differences
