"""The backup and restore drill's steps that are not management commands.

Run by ``.ci/backup-drill``, from the project's root, with DATABASE_URL set:

- ``scenario PASSWORD``: on the source, as the app's role, a clinic day through the
  project's own services (the demo clinic, then a dose given and witnessed, observed,
  corrected by a witnessed amendment, and the register corrected by a dated note), so
  that the backup holds administrations, register entries and both kinds of
  correction. seed_demo gives none of these but a delivery into the register.
- ``refusals OWNER_URL``: on the restore, as the app's role (DATABASE_URL), every
  append-only table refuses UPDATE, DELETE and TRUNCATE and no trigger can be lifted;
  as the owner (OWNER_URL), the restored triggers themselves refuse a change.
- ``app BASE_URL PASSWORD ROLE...``: the app served by gunicorn on the restore; each
  role logs in and opens every page of its navigation, as the production smoke does
  (its own function, so the drill logs in however production does).
"""

import datetime as dt
import io
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / ".ci")]


def scenario(password: str) -> None:
    """Yesterday in the demo clinic, with the clock at each moment's time: the services
    check dose windows, intervals and same-day register entries against it."""
    import time_machine
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from dosing.amendments import session_amend
    from dosing.assessment import session_assess
    from dosing.models import Administration, Amendment, DoseSession, EntryKind, RegisterEntry
    from dosing.register import register_correct, register_stock_check
    from dosing.room import dose_administer, session_observe
    from dosing.sessions import dose_sessions_generate
    from eligibility.models import Clinic
    from hat_clinic.management.commands.seed_demo import CLINIC_NAME

    # The demo clinic keeps clinic_create's zone.
    zone = ZoneInfo("Europe/London")
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).astimezone(zone).date()

    def at(hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)

    with time_machine.travel(at(7, 30), tick=True) as clock:
        call_command("seed_demo", f"--password={password}", stdout=io.StringIO())
        clinic = Clinic.objects.get(name=CLINIC_NAME)
        nurse = get_user_model().objects.get(username="nurse")
        dose_sessions_generate(clinic=clinic, days=[day])
        # Liam Byrne, in maintenance on 180 mg a session, no flags.
        session = DoseSession.objects.get(
            service_user__given_name="Liam", clinic_day=day, slot_code="AM"
        )

        clock.move_to(at(9))
        session_assess(session=session, nurse=nurse, identity_confirmed=True, poss="1")
        dose_administer(
            session=session,
            nurse=nurse,
            witness_username="hca",
            witness_password=password,
            drawn_mg="200",
            injected_mg="180",
            route="iv",
            site="arm",
        )
        clock.move_to(at(9, 40))
        session_observe(session=session, observer=nurse, outcome="no_concerns")

        clock.move_to(at(10))
        # 190 mg was drawn, not 200, and 170 mg injected: the register's supply (still
        # two 100 mg ampoules opened) and its waste (now 30 mg) are corrected too.
        session_amend(
            session=session,
            amended_by=nurse,
            record="administration",
            sequence=1,
            changes={"drawn_mg": "190", "injected_mg": "170"},
            reason="Amounts mis-keyed: the syringe held 190 mg and 170 mg was injected",
            witness_username="hca",
            witness_password=password,
        )
        receipt = RegisterEntry.objects.get(kind=EntryKind.RECEIPT, section__clinic=clinic)
        register_correct(
            entry=receipt,
            note="Supplier's address on the invoice is Unit 4A, not Unit 4.",
            corrected_by=nurse,
        )
        section = receipt.section
        section.refresh_from_db()
        register_stock_check(
            section=section, counted_ampoules=section.balance_ampoules, checked_by=nurse
        )

    corrections = RegisterEntry.objects.filter(kind=EntryKind.CORRECTION).count()
    assert Administration.objects.count() == 1
    assert Amendment.objects.count() == 1
    assert corrections >= 3, "the supply, the waste and the receipt were corrected"
    print(
        f"scenario on {day}: {Administration.objects.count()} administration, "
        f"{Amendment.objects.count()} amendment, "
        f"{RegisterEntry.objects.count()} register entries ({corrections} corrections)"
    )


def refusals(owner_url: str) -> int:
    """What the restore's records are protected by, tried for real."""
    import psycopg2
    from django.apps import apps
    from django.conf import settings
    from psycopg2 import sql

    from core.append_only import APPEND_ONLY
    from hat_clinic.management.backup import Database

    app = Database.from_settings(settings.DATABASES["default"]).connect()
    owner = Database.from_url(owner_url).connect()
    app.autocommit = owner.autocommit = False
    failures = []

    def refused(connection, statement, expected: str) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
            failures.append(f"{statement.as_string(connection)}: accepted")
        except psycopg2.Error as error:
            if expected not in str(error):
                failures.append(f"{statement.as_string(connection)}: {error}")
        finally:
            connection.rollback()

    models = [apps.get_model(label) for label in APPEND_ONLY]
    holding = 0
    for model in models:
        table = sql.Identifier(model._meta.db_table)
        key = sql.Identifier(model._meta.pk.column)
        for statement in (
            sql.SQL("UPDATE {} SET {} = {}").format(table, key, key),
            sql.SQL("DELETE FROM {}").format(table),
            sql.SQL("TRUNCATE {} CASCADE").format(table),
        ):
            refused(app, statement, "permission denied")
        refused(app, sql.SQL("ALTER TABLE {} DISABLE TRIGGER ALL").format(table), "must be owner")
        # The owner holds every privilege: the triggers refuse. A row trigger fires
        # only on a row, so DELETE is tried where there are rows; TRUNCATE everywhere.
        refused(owner, sql.SQL("TRUNCATE {} CASCADE").format(table), "append-only")
        if model.objects.exists():
            holding += 1
            refused(owner, sql.SQL("DELETE FROM {}").format(table), "append-only")
    app.close()
    owner.close()
    for failure in failures:
        print(f"  FAIL {failure}")
    print(
        f"{len(models)} append-only tables: {settings.DATABASES['default']['USER']} may not "
        "update, delete, truncate or lift a trigger; the triggers refuse the owner's "
        f"truncate, and delete in the {holding} with rows. {len(failures)} failures"
    )
    return 1 if failures else 0


def app(base: str, password: str, roles: list[str]) -> int:
    from production_smoke import failures, smoke_role

    assets: set[str] = set()
    for role in roles:
        smoke_role(base, password, role, assets)
    print(f"{len(roles)} roles logged in and opened their pages: {len(failures)} failures")
    return 1 if failures else 0


def main() -> int:
    step, *arguments = sys.argv[1:]
    if step == "app":
        return app(arguments[0], arguments[1], arguments[2:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hat_clinic.settings")
    import django

    django.setup()
    if step == "scenario":
        scenario(*arguments)
        return 0
    if step == "refusals":
        return refusals(*arguments)
    raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    sys.exit(main())
