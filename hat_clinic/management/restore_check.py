"""The check that a restore is whole, before it is trusted (issue 16, point 9): the
same rows in every table as the source, the same triggers and privileges, every
append-only table protected, the app's role unable to change one, and every register
section's balance the sum of its entries. Used by verify_restore and CI's drill."""

import datetime as dt
import re
from contextlib import closing, contextmanager

from psycopg2 import sql

from .backup import SYSTEM_SCHEMAS, Database, fetch, user_tables


def _contents(connection) -> dict[str, tuple[int, str]]:
    """Each table's row count and a fingerprint of its rows (the sum of each row's hash,
    so the order they come back in does not matter): equal rows, equal figures."""
    found = {}
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")  # so dates read the same in both
        for schema, table in user_tables(connection):
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
        fetch(
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
        for table, name, enabled, definition in fetch(
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
    rows = fetch(
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
        for table, name in fetch(
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

    found = fetch(connection, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
    if not found:
        return [f"the app's role {role} does not exist on the restored database's server"]
    problems = []
    if found[0][0]:
        problems.append(f"the app's role {role} is a superuser: no grant holds it")
    owned = fetch(
        connection,
        "SELECT tablename FROM pg_tables WHERE schemaname NOT IN %s "
        "AND pg_has_role(%s, tableowner, 'USAGE') ORDER BY 1",
        [SYSTEM_SCHEMAS, role],
    )
    problems += [
        f"the app's role {role} owns {table}: it could lift triggers" for (table,) in owned
    ]
    held = fetch(
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
