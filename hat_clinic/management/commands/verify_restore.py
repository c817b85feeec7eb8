"""``manage.py verify_restore [--source URL] [--target URL]``: is a restore whole?

Checks the restored database (by default the app's own, DATABASE_URL) against the
database it was backed up from, when that is still there: the same rows in every
table, sequences, triggers, owners and grants. Whatever the source, it checks that
every append-only table is protected by its triggers, that the app's role
(DATABASE_APP_ROLE, or --app-role) owns no table and may not change an append-only
one, and that every register section's balance is the sum of its entries. Exits
non-zero with the list of differences. README, "Backup and restore".
"""

import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from hat_clinic.management.backup import Database, first_line
from hat_clinic.management.restore_check import verify


class Command(BaseCommand):
    help = "Check a restored PostgreSQL database, against its source when that is given."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--source", help="The database the backup was taken from (a URL).")
        parser.add_argument(
            "--target", help="The restored database (a URL); by default the app's own."
        )
        parser.add_argument(
            "--app-role",
            default=settings.DATABASE_APP_ROLE,
            help="The role the app runs as (default: DATABASE_APP_ROLE).",
        )

    def handle(self, *args, source=None, target=None, app_role="", **options):
        restored = (
            Database.from_url(target)
            if target
            else Database.from_settings(connections["default"].settings_dict)
        )
        original = Database.from_url(source) if source else None
        try:
            checked, differences = verify(restored, source=original, app_role=app_role)
        except (psycopg2.Error, DatabaseError) as error:
            # A role that may not read a table, a restore of some other schema.
            reason = first_line(error)
            raise CommandError(f"Cannot check {restored}: {reason}") from error
        if differences:
            raise CommandError(
                f"{restored} is not a whole restore"
                + (f" of {original}" if original else "")
                + f": {len(differences)} differences.\n"
                + "\n".join(f"  - {difference}" for difference in differences)
            )
        self.stdout.write(f"{restored}" + (f", against {original}:" if original else ":"))
        for line in checked:
            self.stdout.write(f"  ok  {line}")
        if not original:
            self.stdout.write("  (no --source: rows were not compared with the original)")
        self.stdout.write(self.style.SUCCESS("The restore is whole."))
