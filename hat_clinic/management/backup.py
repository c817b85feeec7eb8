"""Backup, restore and the check that a restore is whole (issue 16, point 9).

A backup is ``pg_dump``'s custom format: one file holding the tables, their rows, the
append-only triggers (core.append_only) and every GRANT, so that a restore comes
back as migrate left the original: owned by the owner, with the app's role able to do
exactly what it could before and no more. A restore goes into a new, empty database,
never over the one that failed, so nothing of it mixes in and it stays for the
investigation; it is all or nothing (one transaction).

A restore is only trusted once checked (``restore_check.verify``). The commands
backup_database, restore_database and verify_restore and CI's
drill (.ci/backup-drill) use these functions; README, "Backup and restore".

On SQLite, the default for a single machine, a backup is a copy made with SQLite's
online backup API, consistent while the app runs; it is restored by copying it back
with the app stopped.
"""

import os
import re
import sqlite3
import subprocess
from contextlib import closing
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


def fetch(connection, query: str, parameters=()) -> list[tuple]:
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
        exists = bool(fetch(server, "SELECT 1 FROM pg_database WHERE datname = %s", [target.name]))
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
        return len(user_tables(connection))


# -- Verification ------------------------------------------------------------------------


def user_tables(connection) -> list[tuple[str, str]]:
    return fetch(
        connection,
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN %s ORDER BY 1, 2",
        [SYSTEM_SCHEMAS],
    )
