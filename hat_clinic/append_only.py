"""Database triggers that make append-only tables refuse changes.

Controlled drug records are never altered (Misuse of Drugs Regulations 2001,
reg. 20): a mistake is corrected by a dated amendment. The application never
updates these rows; the triggers make sure nothing else can either. PostgreSQL
refuses UPDATE and DELETE. SQLite refuses UPDATE (its DELETE is left for the
test suite's flush, which on PostgreSQL uses TRUNCATE and fires no row trigger).
"""

MESSAGE = "append-only: {table} rows are never changed; record an amendment instead"


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


def protect(tables: list[str], *, vendors: tuple[str, ...] = ("postgresql", "sqlite")):
    """A pair of RunPython functions installing and removing the triggers for the
    database in use (other back ends are left as they are).

    SQLite rebuilds a table to alter a column, dropping its triggers: a migration
    that alters a protected table must protect it again with vendors=("sqlite",).
    """

    def run(schema_editor, index):
        builders = {"postgresql": _postgresql, "sqlite": _sqlite}
        vendor = schema_editor.connection.vendor
        build = builders.get(vendor) if vendor in vendors else None
        if build is None:
            return
        for table in tables:
            schema_editor.execute(build(table)[index])

    def forwards(apps, schema_editor):
        run(schema_editor, 0)

    def backwards(apps, schema_editor):
        run(schema_editor, 1)

    return forwards, backwards


def rewrite_once(table: str, sql: str):
    """A RunPython function for a migration that must fill a new column of an
    append-only table in rows written before the column existed: the trigger is lifted
    for that one statement and put back at once, in the migration's transaction."""

    def forwards(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        trigger = f"{table}_append_only"
        if vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
            schema_editor.execute(sql)
            schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            schema_editor.execute(sql)
            schema_editor.execute(_sqlite(table)[0])
        else:
            schema_editor.execute(sql)

    return forwards
