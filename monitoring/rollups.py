"""Daily roll-ups behind the attendance and outcomes dashboards, so that a year of a
region's history (millions of sessions and tox results) is read as thousands of
pre-counted rows. A Celery task keeps them up to date (monitoring.tasks).

Attendance: a session's outcome can still change for a while after its day (a
suspension or an exit may be backdated up to dosing.leaving.BACKDATE_LIMIT, and a
stopped scheduler may leave sessions open). So only *settled* days are rolled up:
at least SETTLE_DAYS old and with no session still open. A settled day never
changes again, so its counts are final. The dashboard adds the days after the
roll-up's mark from the sessions themselves.

Outcomes: tox screens are only ever added (never edited), though a sample may be
dated in the past. So the roll-up counts every screen *recorded* up to a cut-off,
and each run adds the screens recorded since. The dashboard adds the screens
recorded after the cut-off from the screens themselves. The cut-off trails the run
by MARGIN so that a screen committed a moment after its recording time is never
skipped.

Either way the dashboard's numbers are exactly those of the raw records
(tests/monitoring/test_rollups.py checks this on a synthetic history).
"""

import datetime as dt

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from dosing.leaving import BACKDATE_LIMIT
from dosing.models import AWAY_STATUSES, OPEN_SESSION_STATUSES, DoseSession, SessionStatus

from .models import (
    STREET_HEROIN_MARKERS,
    AttendanceDay,
    AttendanceWeek,
    RollupMark,
    ToxDay,
    ToxResult,
    ToxScreen,
    ToxScreenResult,
)

# A day's sessions are final once the backdating window and the day itself are past.
SETTLE_DAYS = BACKDATE_LIMIT.days + 2
MARGIN = dt.timedelta(hours=1)
BATCH = 5000

# The outcome columns, in the order the tables show them.
OUTCOMES = {
    "administered": Q(status__in=[SessionStatus.ADMINISTERED, SessionStatus.OBSERVED]),
    "withheld": Q(status=SessionStatus.WITHHELD),
    "declined": Q(status=SessionStatus.DECLINED),
    "missed": Q(status=SessionStatus.MISSED),
    "excused": Q(status=SessionStatus.EXCUSED),
    "open": Q(status__in=OPEN_SESSION_STATUSES),
}
COLUMNS = ["scheduled", *OUTCOMES]


def session_counts() -> dict:
    """Sessions scheduled and by outcome, as aggregates over sessions. Counted by
    status (never null) rather than id, so that an index without the id can answer
    alone."""
    return {
        # Take-home and guest sessions are not scheduled for the room.
        "scheduled": Count("status", filter=~Q(status__in=AWAY_STATUSES)),
        **{name: Count("status", filter=q) for name, q in OUTCOMES.items()},
    }


def rolled_counts() -> dict:
    """The same columns, as sums over roll-up rows."""
    return {name: Sum(name) for name in COLUMNS}


def as_date(value) -> dt.date:
    """Trunc functions on a date give a date on SQLite and PostgreSQL alike, but a
    datetime on some backends; always a date here."""
    return value.date() if isinstance(value, dt.datetime) else value


def _mark(name: str, now: dt.datetime) -> RollupMark:
    mark, _ = RollupMark.objects.select_for_update().get_or_create(
        name=name, defaults={"ran_at": now}
    )
    mark.ran_at = now
    return mark


def rolled_through() -> dt.date | None:
    """The last clinic day the attendance roll-up holds (None before its first run)."""
    return RollupMark.objects.filter(name="attendance").values_list("through", flat=True).first()


def attendance_rollup(*, now: dt.datetime | None = None) -> dt.date | None:
    """Count every settled day not yet rolled up, by clinic, day and slot, and every
    whole week (Monday to Sunday) that is now settled, by service user. Set-wise,
    in one transaction; returns the last day rolled up."""
    now = now or timezone.now()
    target = timezone.localdate(now) - dt.timedelta(days=SETTLE_DAYS)
    with transaction.atomic():
        mark = _mark("attendance", now)
        first_open = DoseSession.objects.filter(
            status__in=OPEN_SESSION_STATUSES, clinic_day__lte=target
        ).order_by("clinic_day")
        first_open = first_open.values_list("clinic_day", flat=True).first()  # type: ignore[assignment]
        if first_open is not None:
            target = first_open - dt.timedelta(days=1)  # type: ignore[assignment, operator]
        since = (
            mark.through + dt.timedelta(days=1)
            if mark.through
            else DoseSession.objects.order_by("clinic_day")
            .values_list("clinic_day", flat=True)
            .first()
        )
        if since is None or target < since:
            mark.save()
            return mark.through
        days = (
            DoseSession.objects.filter(clinic_day__gte=since, clinic_day__lte=target)
            .values("clinic", "clinic_day", "slot_code")
            .annotate(**session_counts())
            .order_by()
        )
        AttendanceDay.objects.bulk_create(
            (AttendanceDay(clinic_id=row.pop("clinic"), **row) for row in days.iterator()),  # type: ignore[misc]
            batch_size=BATCH,
        )
        # The weeks whose Sunday is now settled, each counted whole from its Monday.
        first_monday = since - dt.timedelta(days=since.weekday())
        last_sunday = target - dt.timedelta(days=(target.weekday() + 1) % 7)
        if last_sunday > first_monday:
            weeks = (
                DoseSession.objects.filter(
                    clinic_day__gte=first_monday, clinic_day__lte=last_sunday
                )
                .annotate(monday=TruncWeek("clinic_day"))
                .values("service_user", "clinic", "monday")
                .annotate(**session_counts())
                .order_by()
            )
            AttendanceWeek.objects.bulk_create(
                (
                    AttendanceWeek(
                        service_user_id=row.pop("service_user"),  # type: ignore[misc]
                        clinic_id=row.pop("clinic"),  # type: ignore[misc]
                        week=as_date(row.pop("monday")),  # type: ignore[misc]
                        **row,
                    )
                    for row in weeks.iterator()
                ),
                batch_size=BATCH,
            )
        mark.through = target
        mark.save()
    return target


def attendance_rows(
    clinics: QuerySet, start: dt.date, end: dt.date, *, through: dt.date | None
) -> list[dict]:
    """Counts by clinic, day and slot over [start, end]: days up to `through` (see
    rolled_through) from the roll-up, later days from the sessions. Two queries."""
    through = through or start - dt.timedelta(days=1)
    settled_end = min(end, through)
    fields = ("clinic", "clinic__name", "clinic_day", "slot_code")
    rolled = AttendanceDay.objects.filter(
        clinic__in=clinics, clinic_day__gte=start, clinic_day__lte=settled_end
    ).values(*fields, *COLUMNS)
    live = (
        DoseSession.objects.filter(
            clinic__in=clinics,
            clinic_day__gte=max(start, settled_end + dt.timedelta(days=1)),
            clinic_day__lte=end,
        )
        .values(*fields)
        .annotate(**session_counts())
        .order_by()
    )
    return [*rolled, *live]


def attendance_people(
    clinics: QuerySet, start: dt.date, end: dt.date, *, through: dt.date | None
) -> list[dict]:
    """Counts by service user over [start, end]: the whole weeks inside the range
    that end by `through` from the roll-up, the days around them from the sessions.
    Two queries; a person may appear in both parts (the caller adds them up)."""
    first_monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
    last = min(end, through) if through else start - dt.timedelta(days=1)
    last_sunday = last - dt.timedelta(days=(last.weekday() + 1) % 7)
    if last_sunday < first_monday:  # no whole settled week in the range
        first_monday, last_sunday = end + dt.timedelta(days=1), end
    rolled = (
        AttendanceWeek.objects.filter(
            clinic__in=clinics,
            week__gte=first_monday,
            week__lte=last_sunday - dt.timedelta(days=6),
        )
        .values("service_user")
        .annotate(**rolled_counts())
        .order_by()
    )
    # The days before the first whole week and after the last, as two ranges, so
    # that each is read through an index (session_day_idx) rather than a scan.
    before = Q(clinic_day__gte=start, clinic_day__lt=first_monday)
    after = Q(clinic_day__gt=last_sunday, clinic_day__lte=end)
    live = (
        DoseSession.objects.filter(before | after, clinic__in=clinics)
        .values("service_user")
        .annotate(**session_counts())
        .order_by()
    )
    return [*rolled, *live]  # type: ignore[list-item]


def tox_counts(screens: QuerySet, period) -> list[dict]:
    """Screens tested and positive, by clinic, period of sample and substance: the
    street heroin markers together as "street_heroin" (a screen that tested any of
    them; positive if any was), each other substance on its own. Two queries."""
    markers_tested = Exists(
        ToxScreenResult.objects.filter(
            screen=OuterRef("pk"), substance__in=STREET_HEROIN_MARKERS
        ).exclude(result=ToxResult.NOT_TESTED)
    )
    heroin = (
        screens.filter(markers_tested)
        .annotate(period=period("sample_date"))
        .values("clinic", "period")
        .annotate(tested=Count("pk"), positive=Count("pk", filter=Q(street_heroin=True)))
        .order_by()
    )
    others = (
        ToxScreenResult.objects.filter(screen__in=screens)
        .exclude(substance__in=STREET_HEROIN_MARKERS)
        .exclude(result=ToxResult.NOT_TESTED)
        .annotate(period=period("screen__sample_date"), clinic=F("screen__clinic"))
        .values("clinic", "period", "substance")
        .annotate(tested=Count("pk"), positive=Count("pk", filter=Q(result=ToxResult.POSITIVE)))
        .order_by()
    )
    return [
        *({**row, "substance": "street_heroin"} for row in heroin),
        *others,  # type: ignore[list-item]
    ]


def tox_rollup(*, now: dt.datetime | None = None) -> int:
    """Add the screens recorded since the last run (up to MARGIN ago) to the daily
    counts. Returns how many screens were added."""
    now = now or timezone.now()
    cutoff = now - MARGIN
    with transaction.atomic():
        mark = _mark("outcomes", now)
        screens = ToxScreen.objects.filter(recorded_at__lte=cutoff)
        if mark.cutoff:
            screens = screens.filter(recorded_at__gt=mark.cutoff)
        added = screens.count()
        counts = {
            (row["clinic"], as_date(row["period"]), row["substance"]): row
            for row in tox_counts(screens, TruncDay)
        }
        existing = {}
        if mark.cutoff and counts:  # the first run finds nothing to add to
            existing = {
                (row.clinic_id, row.sample_date, row.substance): row
                for row in ToxDay.objects.filter(
                    clinic__in={key[0] for key in counts},
                    sample_date__in={key[1] for key in counts},
                )
            }
        changed, new = [], []
        for key, row in counts.items():
            day = existing.get(key)
            if day is None:
                new.append(
                    ToxDay(
                        clinic_id=key[0],
                        sample_date=key[1],
                        substance=key[2],
                        tested=row["tested"],
                        positive=row["positive"],
                    )
                )
            else:
                day.tested += row["tested"]
                day.positive += row["positive"]
                changed.append(day)
        ToxDay.objects.bulk_create(new, batch_size=BATCH)
        ToxDay.objects.bulk_update(changed, ["tested", "positive"], batch_size=BATCH)
        mark.cutoff = cutoff
        mark.save()
    return added


def tox_month_rows(clinics: QuerySet, start: dt.date, end: dt.date) -> list[dict]:
    """Tested and positive by clinic, month and substance over [start, end]: screens
    recorded up to the roll-up's cut-off from the roll-up, later ones from the
    screens. Four queries."""
    cutoff = RollupMark.objects.filter(name="outcomes").values_list("cutoff", flat=True).first()
    rolled = (
        ToxDay.objects.filter(clinic__in=clinics, sample_date__gte=start, sample_date__lte=end)
        .annotate(period=TruncMonth("sample_date"))
        .values("clinic", "period", "substance")
        .annotate(tested=Sum("tested"), positive=Sum("positive"))
        .order_by()
    )
    screens = ToxScreen.objects.filter(
        clinic__in=clinics, sample_date__gte=start, sample_date__lte=end
    )
    if cutoff:
        screens = screens.filter(recorded_at__gt=cutoff)
    else:
        rolled = rolled.none()
    return [*rolled, *tox_counts(screens, TruncMonth)]  # type: ignore[list-item]
