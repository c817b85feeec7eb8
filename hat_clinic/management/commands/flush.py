"""Django's ``flush``, able to empty the append-only tables.

Their triggers refuse DELETE and TRUNCATE to everyone, so emptying the database (the
test suite does between transactional tests) lifts them for that one statement list,
as the owner (core.append_only.lifted). When the app runs as a role that owns
nothing (DATABASE_OWNER_URL names the owner), the owner's own connection does it.
"""

import dj_database_url
import psycopg2
from django.conf import settings
from django.core.management.color import no_style
from django.core.management.commands.flush import Command as DjangoFlush
from django.core.management.sql import emit_post_migrate_signal, sql_flush
from django.db import connections

from core.append_only import lifted


class Command(DjangoFlush):
    def handle(self, **options):
        connection = connections[options["database"]]
        if connection.vendor == "postgresql" and settings.DATABASE_OWNER_URL:
            return self._as_owner(connection, options)
        with connection.cursor() as cursor, lifted(cursor):
            return super().handle(**options)

    def _as_owner(self, connection, options):
        statements = sql_flush(
            no_style(),
            connection,
            reset_sequences=options.get("reset_sequences", True),
            allow_cascade=options.get("allow_cascade", False),
        )
        owner = dj_database_url.parse(settings.DATABASE_OWNER_URL)
        with (
            psycopg2.connect(
                dbname=connection.settings_dict["NAME"],
                user=owner["USER"],
                password=owner["PASSWORD"] or None,
                host=owner["HOST"] or None,
                port=owner["PORT"] or None,
            ) as owner_connection,
            owner_connection.cursor() as cursor,
        ):
            cursor.execute("SET session_replication_role = replica")
            for statement in statements:
                cursor.execute(statement)
        owner_connection.close()
        if statements and not options.get("inhibit_post_migrate", False):
            emit_post_migrate_signal(options["verbosity"], options["interactive"], connection.alias)
