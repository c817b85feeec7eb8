"""A reproducible synthetic history for the dashboards: every place kept filled
through admissions and exits, attendance, withholds, tox screens and reviews. Built
by ``manage.py synthetic_history`` (whose docstring gives the commands)."""

import csv
import datetime as dt
import io
import math
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from core.roles import Role
from dosing.models import (
    Administration,
    DoseSession,
    Exit,
    ExitDetail,
    ExitKind,
    Observation,
    Prescription,
    PrescriptionSlotDose,
    Purpose,
    Review,
    SessionStatus,
    WithholdReason,
)
from eligibility.models import (
    Referral,
    ServiceUser,
    Status,
    StatusChange,
)
from eligibility.services import clinic_create, staff_member_add
from eligibility.synthetic import synthetic_nhs_numbers
from monitoring.models import STREET_HEROIN_MARKERS, Substance, ToxScreen, ToxScreenResult
from monitoring.scans import reviews_overdue_scan, tox_overdue_scan

LONDON = ZoneInfo("Europe/London")
SLOTS = {"AM": (dt.time(8, 0), dt.time(11, 30)), "PM": (dt.time(13, 0), dt.time(17, 30))}
# What happens to a session not taken, by weight (about 3% withheld, 2% declined,
# 9% missed and 1% excused at 85% attendance).
NOT_TAKEN = [
    (SessionStatus.WITHHELD, 20),
    (SessionStatus.DECLINED, 13),
    (SessionStatus.MISSED, 60),
    (SessionStatus.EXCUSED, 7),
]
WITHHOLD_REASONS = [
    (WithholdReason.SEDATION, 30),
    (WithholdReason.ALCOHOL, 30),
    (WithholdReason.INTOXICATED, 20),
    (WithholdReason.CLINICAL, 10),
    (WithholdReason.BEHAVIOUR, 5),
    (WithholdReason.OTHER, 5),
]
EXITS = [
    ((ExitKind.PLANNED, ExitDetail.TAPER_COMPLETED), 10),
    ((ExitKind.PLANNED, ExitDetail.ORAL_TREATMENT), 20),
    ((ExitKind.PLANNED, ExitDetail.RESIDENTIAL_REHAB), 10),
    ((ExitKind.UNPLANNED, ExitDetail.DISENGAGED), 30),
    ((ExitKind.UNPLANNED, ExitDetail.EXCLUDED), 8),
    ((ExitKind.UNPLANNED, ExitDetail.CUSTODY), 20),
    ((ExitKind.UNPLANNED, ExitDetail.DECEASED), 2),
]
# The panel each weekly screen tests, and how often each other substance is positive.
OTHER_SUBSTANCES = {
    Substance.COCAINE: 0.35,
    Substance.BENZODIAZEPINES: 0.15,
    Substance.CANNABIS: 0.30,
    Substance.FENTANYL: 0.01,
}
BATCH = 100_000


def _pick(rng, weighted):
    return rng.choices([value for value, _ in weighted], [w for _, w in weighted])[0]


class Loader:
    """Rows buffered per table and written in dependency order (parents first), by
    COPY on PostgreSQL and executemany elsewhere. Ids are given here, not by the
    database, so that children can name their parents; sequences are reset after."""

    def __init__(self, models):
        self.models = models  # in dependency order
        self.rows = {model: [] for model in models}
        # After any rows already there (the database has no service users, but may
        # have other records).
        self.next_id = {
            model: (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1 for model in models
        }
        self.columns = {model: [f.column for f in model._meta.concrete_fields] for model in models}
        self.written = defaultdict(int)

    def add(self, model, **values) -> int:
        pk = self.next_id[model]
        self.next_id[model] += 1
        values["id"] = pk
        self.rows[model].append(values)
        if len(self.rows[model]) >= BATCH:
            self.flush()
        return pk

    def flush(self):
        for model in self.models:
            if self.rows[model]:
                self._write(model, self.rows[model])
                self.written[model] += len(self.rows[model])
                self.rows[model] = []

    def _write(self, model, rows):
        fields = model._meta.concrete_fields
        defaults = {f.attname: _default(f) for f in fields}
        table, columns = model._meta.db_table, ", ".join(f'"{c}"' for c in self.columns[model])
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY's CSV takes Python's own text for dates, instants with their
                # offset, decimals and booleans; \N is NULL.
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                for row in rows:
                    writer.writerow([_csv(row.get(name, defaults[name])) for name in defaults])
                buffer.seek(0)
                cursor.cursor.copy_expert(
                    f"COPY \"{table}\" ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                    buffer,
                )
            else:
                cursor.executemany(
                    f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join(["%s"] * len(fields))})',
                    [
                        [
                            f.get_db_prep_save(row.get(f.attname, defaults[f.attname]), connection)
                            for f in fields
                        ]
                        for row in rows
                    ],
                )

    def finish(self):
        self.flush()
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), self.models):
                cursor.execute(sql)


def _default(field):
    if field.has_default():
        return field.get_default()
    if getattr(field, "auto_now_add", False):
        return timezone.now()
    text = field.get_internal_type() in ("CharField", "TextField", "FileField")
    return "" if text and field.blank and not field.null else None


def _csv(value):
    return "\\N" if value is None else value


class History:
    def __init__(self, *, rng, places, per_clinic, start, end, attendance):
        self.rng, self.places, self.per_clinic = rng, places, per_clinic
        self.start, self.end, self.attendance = start, end, attendance
        self.numbers = synthetic_nhs_numbers(start=800_000)
        self.windows = {}
        self.loader = Loader(
            [
                ServiceUser,
                StatusChange,
                Referral,
                Exit,
                Prescription,
                PrescriptionSlotDose,
                DoseSession,
                Administration,
                Observation,
                Review,
                ToxScreen,
                ToxScreenResult,
            ]
        )

    # Staff and clinics, through the services.
    def _staff(self, clinics):
        users = get_user_model()
        staff = {}
        for role, name in [
            (Role.NURSE, "synthetic-nurse"),
            (Role.HCA, "synthetic-hca"),
            (Role.PRESCRIBER, "synthetic-prescriber"),
            (Role.MANAGER, "synthetic-manager"),
        ]:
            user = users.objects.create_user(name, password=None, first_name=role.label)
            for clinic in clinics:
                staff_member_add(clinic=clinic, user=user, roles=[role])
            staff[role] = user
        return staff

    def build(self) -> dict:
        opened = dt.datetime.combine(self.start - dt.timedelta(days=760), dt.time(9), tzinfo=LONDON)
        size = min(self.per_clinic, self.places)
        count = math.ceil(self.places / size)
        clinics = [
            clinic_create(name=f"Synthetic clinic {n + 1:02d}", now=opened, capacity=size)
            for n in range(count)
        ]
        self.policies = {c.pk: c.policies.get().pk for c in clinics}
        staff = self._staff(clinics)
        self.nurse, self.hca = staff[Role.NURSE].pk, staff[Role.HCA].pk
        self.prescriber, self.manager = staff[Role.PRESCRIBER].pk, staff[Role.MANAGER]
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Check each row's foreign keys as it is copied, rather than queueing
                # millions of deferred checks for the commit.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for place in range(self.places):
                clinic = clinics[place // size]
                admitted = self.start - dt.timedelta(days=self.rng.randint(0, 730))
                while admitted <= self.end:
                    exit_day = admitted + dt.timedelta(days=self._duration())
                    if exit_day >= self.start:
                        self._episode(
                            clinic.pk, admitted, exit_day if exit_day <= self.end else None
                        )
                    admitted = exit_day + dt.timedelta(days=self.rng.randint(3, 21))
            for clinic in clinics:
                for _ in range(self.rng.randint(1, 4)):
                    self._waiting(clinic.pk)
            self.loader.finish()
        now = dt.datetime.combine(self.end, dt.time(18), tzinfo=LONDON)
        reviews_overdue_scan(now=now)
        tox_overdue_scan(now=now)
        return {
            "clinics": len(clinics),
            **{m._meta.verbose_name_plural: n for m, n in self.loader.written.items()},
        }

    def _duration(self) -> int:
        """Days in treatment: one in seven leaves in the first eight weeks; the rest
        at about 25% a year."""
        if self.rng.random() < 1 / 7:
            return self.rng.randint(1, 56)
        return 56 + int(self.rng.expovariate(-math.log(0.75) / 365))

    def _at(self, day, hour, minute=0):
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)

    def _person(self, clinic, status, changed_at):
        n = self.loader.next_id[ServiceUser]
        return self.loader.add(
            ServiceUser,
            clinic_id=clinic,
            nhs_number=next(self.numbers),
            given_name="Synthetic",
            family_name=f"Person {n:06d}",
            date_of_birth=dt.date(1970, 1, 1) + dt.timedelta(days=self.rng.randint(0, 7300)),
            flag_alcohol=self.rng.random() < 0.2,
            status=status,
            status_changed_at=changed_at,
            consecutive_not_taken=0,
            created_at=changed_at,
        )

    def _changes(self, person, steps):
        previous = ""
        for status, at in steps:
            self.loader.add(
                StatusChange,
                service_user_id=person,
                from_status=previous,
                to_status=status,
                changed_at=at,
                changed_by_id=self.prescriber,
                reason="Synthetic history",
            )
            previous = status

    def _waiting(self, clinic):
        accepted = self._at(self.end - dt.timedelta(days=self.rng.randint(1, 60)), 11)
        person = self._person(clinic, Status.WAITING, accepted)
        self._changes(
            person,
            [(Status.ASSESSING, accepted - dt.timedelta(days=7)), (Status.WAITING, accepted)],
        )
        self._referral(person, clinic, accepted, admitted=None)

    def _referral(self, person, clinic, accepted, *, admitted, closed=None):
        return self.loader.add(
            Referral,
            service_user_id=person,
            clinic_id=clinic,
            referred_by="Synthetic GP practice",
            referral_date=(accepted - dt.timedelta(days=14)).date(),
            substance_use_history="Synthetic",
            treatment_history="Synthetic",
            recorded_by_id=self.nurse,
            recorded_at=accepted - dt.timedelta(days=14),
            decision="accepted",
            decision_reason="Synthetic",
            decided_by_id=self.prescriber,
            decided_at=accepted,
            priority=2,
            admitted_at=admitted,
            closed_at=closed,
            closed_reason="Exit" if closed else "",
        )

    def _episode(self, clinic, admitted_day, exit_day):
        rng = self.rng
        admitted = self._at(admitted_day, 10)
        accepted = admitted - dt.timedelta(days=rng.randint(3, 40))
        maintenance = admitted + dt.timedelta(days=14)
        steps = [
            (Status.ASSESSING, accepted - dt.timedelta(days=7)),
            (Status.WAITING, accepted),
            (Status.TITRATION, admitted),
        ]
        if maintenance.date() < (exit_day or self.end):
            steps.append((Status.MAINTENANCE, maintenance))
        closed = self._at(exit_day, 16) if exit_day else None
        if closed:
            steps.append((Status.EXITED, closed))
        person = self._person(clinic, steps[-1][0], steps[-1][1])
        self._changes(person, steps)
        referral = self._referral(person, clinic, accepted, admitted=admitted, closed=closed)
        if exit_day:
            kind, detail = _pick(rng, EXITS)
            self.loader.add(
                Exit,
                service_user_id=person,
                referral_id=referral,
                kind=kind,
                detail=detail,
                reason="Synthetic history",
                exited_on=exit_day,
                recorded_by_id=self.prescriber,
                recorded_at=closed,
            )
        dose = Decimal(rng.choice([60, 80, 100, 120, 150, 180, 200]))
        prescription = self.loader.add(
            Prescription,
            service_user_id=person,
            version=1,
            purpose=Purpose.MAINTENANCE,
            drug="Diamorphine hydrochloride",
            route_iv=True,
            route_im=False,
            max_daily_total_mg=2 * dose,
            valid_from=admitted,
            documented_transfer=True,
            prescriber_id=self.prescriber,
            reason="Synthetic history",
            issued_at=admitted,
        )
        for slot in SLOTS:
            self.loader.add(
                PrescriptionSlotDose, prescription_id=prescription, slot_code=slot, dose_mg=dose
            )
        first = max(admitted_day, self.start)
        last = (exit_day - dt.timedelta(days=1)) if exit_day else self.end
        attendance = min(0.99, max(0.4, rng.gauss(self.attendance, 0.08)))
        day = first
        while day <= last:
            for slot in SLOTS:
                self._session(person, clinic, day, slot, attendance, dose)
            weeks_in = (day - admitted_day).days // 7
            if day.weekday() == 2:
                self._screen(person, clinic, day, weeks_in)
            if day.weekday() == 3 and weeks_in >= 1 and (exit_day or rng.random() > 0.02):
                self.loader.add(
                    Review,
                    service_user_id=person,
                    reviewed_at=self._at(day, 15),
                    prescriber_id=self.prescriber,
                    decision="continue",
                    notes="Synthetic weekly review",
                )
            day += dt.timedelta(days=1)

    def _window(self, day, slot):
        key = (day, slot)
        if key not in self.windows:
            opens, closes = SLOTS[slot]
            self.windows[key] = (
                dt.datetime.combine(day, opens, tzinfo=LONDON),
                dt.datetime.combine(day, closes, tzinfo=LONDON),
            )
        return self.windows[key]

    def _session(self, person, clinic, day, slot, attendance, dose):
        rng = self.rng
        opens, closes = self._window(day, slot)
        taken = rng.random() < attendance
        status = SessionStatus.OBSERVED if taken else _pick(rng, NOT_TAKEN)
        reason = {
            SessionStatus.WITHHELD: lambda: _pick(rng, WITHHOLD_REASONS),
            SessionStatus.MISSED: lambda: "missed",
            SessionStatus.EXCUSED: lambda: "other",
        }.get(status, lambda: "")()
        at = opens + dt.timedelta(minutes=rng.randint(10, 150))
        session = self.loader.add(
            DoseSession,
            service_user_id=person,
            clinic_id=clinic,
            clinic_day=day,
            slot_code=slot,
            policy_id=self.policies[clinic],
            opens_at=opens,
            closes_at=closes,
            status=status,
            status_changed_at=closes if status == SessionStatus.MISSED else at,
            outcome_reason=reason,
            outcome_note="Synthetic" if reason == WithholdReason.OTHER else "",
            outcome_by_id=None if status == SessionStatus.MISSED else self.nurse,
            created_at=opens - dt.timedelta(days=1),
        )
        if not taken:
            return
        self.loader.add(
            Administration,
            session_id=session,
            sequence=1,
            drawn_mg=dose,
            injected_mg=dose,
            route="iv" if rng.random() < 0.9 else "im",
            site=rng.choice(["arm", "hand", "leg", "groin"]),
            injected_at=at,
            nurse_id=self.nurse,
            witness_id=self.hca,
            recorded_at=at,
        )
        adverse = rng.random() < 0.0005
        naloxone = adverse and rng.random() < 0.4
        self.loader.add(
            Observation,
            session_id=session,
            outcome="adverse_event" if adverse else "no_concerns",
            over_sedation=adverse and rng.random() < 0.5,
            overdose=naloxone,
            naloxone_mg=Decimal("0.4") if naloxone else None,
            naloxone_at=at + dt.timedelta(minutes=4) if naloxone else None,
            ambulance_called=naloxone and rng.random() < 0.5,
            details="Synthetic adverse event" if adverse else "",
            observed_by_id=self.nurse,
            observed_at=at + dt.timedelta(minutes=35),
        )

    def _screen(self, person, clinic, day, weeks_in):
        rng = self.rng
        heroin = rng.random() < 0.12 + 0.5 * math.exp(-weeks_in / 20)
        screen = self.loader.add(
            ToxScreen,
            service_user_id=person,
            clinic_id=clinic,
            sample_date=day,
            street_heroin=heroin,
            recorded_by_id=self.nurse,
            recorded_at=self._at(day, 12),
        )
        marker = rng.choice(STREET_HEROIN_MARKERS) if heroin else None
        for substance in STREET_HEROIN_MARKERS:
            self.loader.add(
                ToxScreenResult,
                screen_id=screen,
                substance=substance,
                result="positive" if substance == marker else "negative",
            )
        for substance, share in OTHER_SUBSTANCES.items():
            self.loader.add(
                ToxScreenResult,
                screen_id=screen,
                substance=substance,
                result="positive" if rng.random() < share else "negative",
            )
