"""``manage.py backup_database --output FILE``: a backup of the app's database.

On PostgreSQL, pg_dump's custom format, taken as the user DATABASE_URL names (the
owner, as for migrate: README, "Backup and restore"); restore it with
restore_database. On SQLite, a consistent copy through SQLite's online backup API.
"""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import connections

from hat_clinic.management.backup import Database, backup_postgresql, backup_sqlite


class Command(BaseCommand):
    help = (
        "Back up the app's database to a new file: pg_dump's custom format on PostgreSQL, "
        "a copy made with SQLite's online backup API on SQLite."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", required=True, type=Path, help="The backup file to write (must be new)."
        )

    def handle(self, *args, output: Path, **options):
        settings_dict = connections["default"].settings_dict
        if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
            path = Path(settings_dict["NAME"])
            size = backup_sqlite(path, output)
            self.stdout.write(
                self.style.SUCCESS(f"Backed up {path} to {output} ({size} bytes).")
                + "\nTo restore it, stop the app, the worker and beat, and copy it over "
                f"{path} (removing {path.name}-wal and {path.name}-shm beside it)."
            )
            return
        database = Database.from_settings(settings_dict)
        size = backup_postgresql(database, output)
        self.stdout.write(
            self.style.SUCCESS(f"Backed up {database} to {output} ({size} bytes).")
            + f"\nTo restore it: manage.py restore_database {output} --into NEW_DATABASE"
        )
