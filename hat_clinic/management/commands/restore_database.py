"""``manage.py restore_database FILE --into DATABASE``: a backup into a new database.

The target is a PostgreSQL URL, or a database name on the server DATABASE_URL names,
reached as the same user. It must not exist yet (it is created) or have no table: a
restore never goes over a database, least of all the one that failed. Run it as the
owner, who can create the database and own its tables; the roles the dump grants to
(the app's role) must exist on the server. README, "Backup and restore".
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from hat_clinic.management.backup import Database, check_dump, restore_postgresql


class Command(BaseCommand):
    help = (
        "Restore a backup_database file into a new, empty PostgreSQL database, "
        "then check it with verify_restore."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="A file written by backup_database.")
        parser.add_argument(
            "--into",
            required=True,
            help="The new database: a URL (postgres://owner@host:5432/name) or a name on "
            "the server of DATABASE_URL.",
        )

    def handle(self, *args, file: Path, into: str, **options):
        check_dump(file)
        target = self._target(into)
        tables = restore_postgresql(file, target)
        self.stdout.write(
            self.style.SUCCESS(f"Restored {file} into {target}: {tables} tables.")
            + "\nCheck it before use: manage.py verify_restore --target <its URL> "
            "[--source <the original's URL>]"
        )

    def _target(self, into: str) -> Database:
        if "://" in into:
            return Database.from_url(into)
        settings_dict = connections["default"].settings_dict
        if settings_dict["ENGINE"] != "django.db.backends.postgresql":
            raise CommandError(
                f"--into {into}: a name is a database on DATABASE_URL's server, and the app's "
                "database is not PostgreSQL. Give a postgres:// URL."
            )
        return Database.from_settings(settings_dict).named(into)
