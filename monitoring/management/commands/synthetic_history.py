"""A realistic synthetic history for the managers' dashboards (issue 8.7), and their
timings.

Every place in every clinic is filled through the whole period: the person in it
at the start was admitted up to two years before; when someone leaves (planned or
unplanned, about 30% in a year, more of them early on), the place is filled again
from the waiting list after a few days. Each episode gets its referral, status
changes, a prescription, two dose sessions a day (about 85% taken, each with its
administration and post-dose observation; the rest withheld with a reason,
declined, missed or excused), weekly tox screens (street heroin falling with time
in treatment) and weekly prescriber reviews. A few accepted referrals wait at the
end, and the overdue scans raise their alerts. The controlled drugs register is
not generated. The same seed gives the same history.

Rows are written in batches with COPY on PostgreSQL (executemany on SQLite), so a
year for 10,000 people (about 7 million sessions) takes minutes. Run it on an empty,
migrated database. With --measure it then rolls up the history, as the hourly
task would have (monitoring/rollups.py), and times each dashboard:

    createdb -h 127.0.0.1 -U postgres hat_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/hat_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py synthetic_history --people 10000 --measure
"""

import datetime as dt
import random
import statistics
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from eligibility.models import (
    ServiceUser,
)
from monitoring.rollups import attendance_rollup, tox_rollup
from monitoring.synthetic import History


class Command(BaseCommand):
    help = "Generate a synthetic history for the dashboards and time them (see the docstring)."

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=15, help="Places, all kept filled.")
        parser.add_argument("--per-clinic", type=int, default=500)
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 10, 31))
        parser.add_argument("--attendance", type=float, default=0.85)
        parser.add_argument("--seed", type=int, default=8)
        parser.add_argument("--measure", action="store_true", help="Then time each dashboard.")
        parser.add_argument(
            "--measure-only",
            action="store_true",
            help="Time the dashboards on a synthetic history made before (same --end, --days).",
        )

    def handle(
        self,
        *args,
        people,
        per_clinic,
        days,
        end,
        attendance,
        seed,
        measure,
        measure_only,
        **options,
    ):
        start = end - dt.timedelta(days=days - 1)
        if measure_only:
            manager = get_user_model().objects.get(username="synthetic-manager")
            self.measure(manager, start, end)
            return
        if ServiceUser.objects.exists():
            raise CommandError("Run this on an empty, migrated database: it adds a whole history.")
        started = time.perf_counter()
        generator = History(
            rng=random.Random(seed),
            places=people,
            per_clinic=per_clinic,
            start=start,
            end=end,
            attendance=attendance,
        )
        counts = generator.build()
        self.stdout.write(
            f"Built in {time.perf_counter() - started:.0f} s on {connection.vendor}: "
            + ", ".join(f"{n:,} {name}" for name, n in counts.items())
        )
        self.analyse()
        if measure:
            # What the hourly task would have done by now.
            began = time.perf_counter()
            through, added = attendance_rollup(), tox_rollup()
            self.stdout.write(
                f"Rolled up the sessions through {through} and {added:,} tox screens "
                f"in {time.perf_counter() - began:.0f} s."
            )
            self.analyse()
            self.measure(generator.manager, start, end)

    def analyse(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # plans for the tables' real sizes

    def measure(self, manager, start, end):
        """Each dashboard's server time (the whole request, as a manager of every
        clinic): the median of 3 after one warm-up, over the whole year and over the
        last 28 days."""
        client = Client(HTTP_HOST=(settings.ALLOWED_HOSTS or ["localhost"])[0].lstrip("."))
        client.force_login(manager)
        # The made-up manager gets an authenticator, so that their session passes the
        # second factor as a real manager's does, and the timing includes that check.
        device, _ = TOTPDevice.objects.get_or_create(
            user=manager, confirmed=True, defaults={"name": "Synthetic manager's"}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        year = {"from": start.isoformat(), "to": end.isoformat()}
        month = {"from": (end - dt.timedelta(days=27)).isoformat(), "to": end.isoformat()}
        for name in ["attendance", "retention", "outcomes", "workload"]:
            for label, params in [("year", year), ("28 days", month)]:
                timings = []
                for _ in range(4):
                    with CaptureQueriesContext(connection) as queries:
                        began = time.perf_counter()
                        response = client.get(reverse(f"dashboard-{name}"), params)
                        timings.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise CommandError(f"The {name} dashboard answered {response.status_code}.")
                self.stdout.write(
                    f"{name} ({label}): {statistics.median(timings[1:]) * 1000:.0f} ms, "
                    f"{len(queries)} queries, {len(response.content) // 1024} KB"
                )
