"""Measure the missed-dose scan at regional scale (issue 5.6).

Builds N service users in treatment on a twice-daily prescription, spread over
clinics whose AM windows close at staggered times between 10:00 and 12:00, and
schedules one clinic day (2 sessions each). About 85% of sessions are marked
taken; the rest are left open. Then it times two scans, each in its own copy of
the data (a transaction rolled back after): one when the first window closes
(on time, with beat running) and one two hours later (beat stopped for two hours,
catching up every window that closed in between). Run it on an empty database:

    createdb -h 127.0.0.1 -U postgres hat_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hat_bench .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hat_bench \\
        .venv/bin/python manage.py bench_missed_scan --people 10000
"""

import datetime as dt
import random
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, Prescription, PrescriptionSlotDose, Purpose, SessionStatus
from dosing.sessions import dose_sessions_generate
from eligibility.models import Clinic, ServiceUser, Status
from eligibility.services import SlotSpec, clinic_create, policy_issue
from eligibility.synthetic import synthetic_nhs_numbers

LONDON = ZoneInfo("Europe/London")
DAY = dt.date(2026, 3, 10)  # a Tuesday, GMT
OPENED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
# AM windows close every 15 minutes from 10:00 to 12:00 across the clinics.
AM_CLOSES = [dt.time(10, 0)] + [
    (dt.datetime.combine(DAY, dt.time(10, 0)) + dt.timedelta(minutes=15 * i)).time()
    for i in range(1, 9)
]


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the missed-dose scan on N service users x 2 slots (see the module's docstring)."

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=10_000)
        parser.add_argument("--per-clinic", type=int, default=500)
        parser.add_argument("--attendance", type=float, default=0.85)
        parser.add_argument("--seed", type=int, default=5)

    def handle(self, *args, people, per_clinic, attendance, seed, **options):
        if ServiceUser.objects.exists():
            raise CommandError("Run this on an empty database (see --help): it adds bench data.")
        started = time.perf_counter()
        self._build(people, per_clinic, attendance, random.Random(seed))
        self.stdout.write(
            f"Built {ServiceUser.objects.count()} service users, "
            f"{DoseSession.objects.count()} sessions in {Clinic.objects.count()} clinics "
            f"in {time.perf_counter() - started:.0f} s on {connection.vendor}."
        )
        open_sessions = DoseSession.objects.filter(status=SessionStatus.SCHEDULED)
        first_close = dt.datetime.combine(DAY, AM_CLOSES[0], tzinfo=LONDON)
        self._measure("one closed window (the scan on time)", first_close, open_sessions)
        self._measure(
            "a 2-hour catch-up (beat stopped 10:00 to 12:00)",
            first_close + dt.timedelta(hours=2),
            open_sessions,
        )
        self._measure(
            "a whole day's catch-up (beat stopped all day)",
            dt.datetime.combine(DAY, dt.time(18, 0), tzinfo=LONDON),
            open_sessions,
        )

    def _measure(self, label, now, open_sessions):
        due = open_sessions.filter(closes_at__lte=now).count()
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    scan = missed_sessions_scan(now=now)
                    elapsed = time.perf_counter() - started
                raise Rollback
        except Rollback:
            pass
        self.stdout.write(
            f"{label}: {scan.sessions_missed} sessions marked missed (of {due} due) "
            f"in {elapsed * 1000:.0f} ms and {len(queries)} queries."
        )

    def _build(self, people, per_clinic, attendance, rng):
        staff = get_user_model().objects.create_user("bench-prescriber", password=None)
        numbers = synthetic_nhs_numbers(start=500_000)
        clinics = []
        for n in range(-(-people // per_clinic)):
            clinic = clinic_create(name=f"Bench clinic {n + 1:03d}", now=OPENED)
            policy_issue(
                clinic=clinic,
                issued_by=staff,
                effective_from=OPENED + dt.timedelta(minutes=1),
                reason="Bench: staggered AM windows",
                slots=[
                    SlotSpec("AM", dt.time(8, 0), AM_CLOSES[n % len(AM_CLOSES)]),
                    SlotSpec("PM", dt.time(13, 0), dt.time(17, 30)),
                ],
                capacity=per_clinic,
                now=OPENED,
            )
            clinics.append(clinic)
        with transaction.atomic():
            ServiceUser.objects.bulk_create(
                (
                    ServiceUser(
                        clinic=clinics[i // per_clinic],
                        nhs_number=next(numbers),
                        given_name="Bench",
                        family_name=f"Person {i:05d}",
                        date_of_birth=dt.date(1975, 1, 1) + dt.timedelta(days=i % 7000),
                        status=Status.MAINTENANCE,
                        status_changed_at=OPENED,
                    )
                    for i in range(people)
                ),
                batch_size=2000,
            )
            Prescription.objects.bulk_create(
                (
                    Prescription(
                        service_user_id=pk,
                        version=1,
                        purpose=Purpose.MAINTENANCE,
                        max_daily_total_mg=Decimal("160"),
                        valid_from=OPENED,
                        documented_transfer=True,
                        prescriber=staff,
                        reason="Bench",
                        issued_at=OPENED,
                    )
                    for pk in ServiceUser.objects.values_list("pk", flat=True)
                ),
                batch_size=2000,
            )
            PrescriptionSlotDose.objects.bulk_create(
                (
                    PrescriptionSlotDose(prescription_id=pk, slot_code=slot, dose_mg=Decimal("80"))
                    for pk in Prescription.objects.values_list("pk", flat=True)
                    for slot in ("AM", "PM")
                ),
                batch_size=4000,
            )
        for clinic in clinics:
            dose_sessions_generate(clinic=clinic, days=[DAY], now=OPENED + dt.timedelta(hours=1))
        ids = list(DoseSession.objects.values_list("pk", flat=True))
        taken = rng.sample(ids, round(len(ids) * attendance))
        for start in range(0, len(taken), 5000):
            DoseSession.objects.filter(pk__in=taken[start : start + 5000]).update(
                status=SessionStatus.OBSERVED
            )
