"""Missed doses and the consecutive count (docs/domain.md, "Missed doses and re-titration").

The scan works from the data, not from when it last ran: every session still
open after its window closed is missed, however late the scan is. It claims
those sessions with one conditional UPDATE, tagging them with the scan's own
row, and does the rest set-wise from that tag, all in one transaction, so a
worker killed half-way leaves nothing done and the next run does it all. Two
scans at once are serialised (an advisory lock on PostgreSQL; SQLite's write
transactions are serial already): the second finds nothing left to claim.
"""

import datetime as dt

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import alerts_raise_from, sql_text
from core.audit import history_snapshot
from eligibility.models import DOSED, ServiceUser, Status
from eligibility.selectors import clinics_in_scope
from eligibility.services import service_users_transition_many

from .models import (
    NOT_TAKEN_STATUSES,
    OPEN_SESSION_STATUSES,
    TAKEN_STATUSES,
    Assessment,
    DoseSession,
    GuestStay,
    MissedScan,
    SessionStatus,
)
from .observation import OBSERVATION_OVERDUE_CAUSE

# Any PostgreSQL advisory lock key unique to this scan.
SCAN_LOCK_KEY = 0x4841_5401
BEFORE_ANY_SESSION = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
RETITRATION_NEXT = "No dose until a prescriber issues a re-titration prescription."


def _serialise_scans() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCAN_LOCK_KEY])


def missed_sessions_scan(
    *, now: dt.datetime | None = None, service_users: QuerySet | None = None
) -> MissedScan | None:
    """Settle every session whose window has closed with no outcome: missed, or, if it
    was deferred for a reassessment that never came, withheld with the deferral's
    reason. Then update the consecutive counts and raise the alerts. Returns the
    scan's record, or None when nothing was due. A fixed number of queries, whatever
    the number of sessions.

    ``service_users`` settles only those people's sessions: that is how every action
    on a person settles them first (settle_service_user). Then those whose last dose
    is more than the clinic's re-titration days ago need re-titration too
    (lapses_apply)."""
    now = now or timezone.now()
    due = DoseSession.objects.filter(status__in=OPEN_SESSION_STATUSES, closes_at__lte=now)
    if service_users is not None:
        due = due.filter(service_user__in=service_users)
    # Nothing to settle is the common case for a person being acted on, or a page
    # being read: one query answers it, without the scan's lock. Whatever is found is
    # claimed under the lock, below.
    to_settle = _lapsed(now, service_users).values("pk").union(due.values("service_user"), all=True)
    if not to_settle.exists():
        return None
    for taken_home in _take_home_closes(due, now):
        # A take-home dose is taken when its window closes: a late scan settles what
        # closed before it first, as a scan on time would have (docs/domain.md).
        _closed_windows_settle(taken_home, due.filter(closes_at__lte=taken_home))
    scan = _closed_windows_settle(now, due)
    lapses_apply(now=now, service_users=service_users)
    return scan


def _take_home_closes(due: QuerySet, now: dt.datetime) -> list[dt.datetime]:
    """When the take-home windows of the people with sessions to settle closed, after
    the first of those sessions closed and by now, in time order: the instants a late
    scan settles up to first. Served by session_person_idx."""
    first = due.order_by("closes_at").values("closes_at")[:1]
    return list(
        DoseSession.objects.filter(
            service_user__in=due.values("service_user"),
            status=SessionStatus.TAKE_HOME,
            closes_at__gt=Subquery(first),
            closes_at__lt=now,
        )
        .order_by("closes_at")
        .values_list("closes_at", flat=True)
        .distinct()
    )


def _closed_windows_settle(now: dt.datetime, due: QuerySet) -> MissedScan | None:
    with transaction.atomic():
        _serialise_scans()
        if not due.exists():
            return None
        scan = MissedScan.objects.create(ran_at=now)
        # The claims: conditional UPDATEs. A session another scan (or a nurse) ended
        # first no longer matches, so nothing is settled twice. A deferred session was
        # attended and assessed: it is withheld for the reason it was deferred, not
        # missed (docs/domain.md, "Dose sessions").
        latest = Assessment.objects.filter(session=OuterRef("pk")).order_by("-sequence")
        withheld = due.filter(status=SessionStatus.DEFERRED).update(
            status=SessionStatus.WITHHELD,
            status_changed_at=now,
            outcome_reason=Subquery(latest.values("deferral_reason")[:1]),
            outcome_note=Value(
                "Deferred for reassessment, and the window closed before a reassessment "
                "led to a dose: withheld."
            ),
            missed_scan=scan,
        )
        scan.sessions_missed = due.update(
            status=SessionStatus.MISSED,
            status_changed_at=now,
            outcome_reason="missed",
            missed_scan=scan,
        )
        scan.save(update_fields=["sessions_missed"])
        claimed = DoseSession.objects.filter(missed_scan=scan)
        missed = claimed.filter(status=SessionStatus.MISSED)
        if withheld:
            history_snapshot(
                claimed.filter(status=SessionStatus.WITHHELD),
                reason="Window closed while deferred: withheld",
                when=now,
            )
        history_snapshot(missed, reason="Window closed with no dose recorded: missed", when=now)
        _raise_session_alerts(
            missed,
            kind=AlertKind.MISSED_DOSE,
            cause="session:",
            detail=" missed: the window closed with no dose recorded.",
            now=now,
        )
        consecutive_counts_apply(
            ServiceUser.objects.filter(pk__in=claimed.values("service_user_id")), now=now
        )
    return scan


def settle_service_user(service_user_id: int, *, now: dt.datetime) -> MissedScan | None:
    """Settle one person's closed windows, exactly as the scan would, before an action
    on them is decided (docs/domain.md: the answer is the same whenever the scan last ran).

    Called before the action's own transaction, so what it settles stays settled when
    the action is refused: the refusal and the alert it explains are both kept."""
    return missed_sessions_scan(
        now=now, service_users=ServiceUser.objects.filter(pk=service_user_id).values("pk")
    )


def settle_for_clinics_of(user, *, now: dt.datetime) -> MissedScan | None:
    """Settle everyone in the member of staff's clinics, and their guests from other
    clinics, before a read shows them (registered with eligibility.settling)."""
    clinics = clinics_in_scope(user)
    hosted = GuestStay.objects.filter(
        service_user=OuterRef("pk"),
        host_clinic__in=clinics,
        acceptance__isnull=False,
        last_day__gte=(now - dt.timedelta(days=2)).date(),
    )
    return missed_sessions_scan(
        now=now,
        service_users=ServiceUser.objects.filter(Q(clinic__in=clinics) | Exists(hosted)).values(
            "pk"
        ),
    )


def observations_overdue_scan(*, now: dt.datetime | None = None) -> int:
    """Raise an "observation not recorded" alert for every administered session whose
    observation is past its due time (the last injection, plus the observation time,
    plus the clinic's grace period). The alert's unique cause is the claim: running
    it twice, late, or in two workers at once raises each alert once. One INSERT ...
    SELECT, served by session_observation_due_idx. Returns how many were raised."""
    now = now or timezone.now()
    overdue = DoseSession.objects.filter(
        status=SessionStatus.ADMINISTERED, observation_due_at__lte=now
    )
    with transaction.atomic():
        return _raise_session_alerts(
            overdue,
            kind=AlertKind.OBSERVATION_OVERDUE,
            cause=OBSERVATION_OVERDUE_CAUSE,
            detail=": dosed, and the post-dose observation is not recorded. Check on the "
            "service user and record it.",
            now=now,
        )


def _raise_session_alerts(sessions: QuerySet, *, kind: AlertKind, cause: str, detail: str, now):
    """One alert of this kind per session, its cause the session: set-wise."""
    return alerts_raise_from(
        sessions.values(
            alert_clinic=F("clinic_id"),
            alert_service_user=F("service_user_id"),
            alert_session=F("pk"),
            alert_cause=sql_text(cause, F("pk")),
            alert_detail=sql_text(F("slot_code"), " session on ", F("clinic_day"), detail),
        ),
        kind=kind,
        now=now,
    )


def _streak(now: dt.datetime) -> QuerySet:
    """As a subquery of ServiceUser: the person's sessions not taken since the last
    one taken, their current streak. Excused sessions neither count nor break it. A
    take-home dose counts as taken once its window has closed (before now); one supplied
    for later days breaks no streak before them. A re-titration prescription restarts the count:
    only sessions whose window closes after it count (ServiceUser.count_restarted_at)."""
    last_taken = (
        DoseSession.objects.filter(service_user=OuterRef(OuterRef("pk")))
        .filter(Q(status__in=TAKEN_STATUSES) | Q(status=SessionStatus.TAKE_HOME, closes_at__lt=now))
        .order_by("-opens_at")
        .values("opens_at")[:1]
    )
    never = Value(BEFORE_ANY_SESSION, output_field=DateTimeField())
    return DoseSession.objects.filter(
        service_user=OuterRef("pk"),
        status__in=NOT_TAKEN_STATUSES,
        opens_at__gt=Coalesce(Subquery(last_taken), never),
        closes_at__gt=Coalesce(OuterRef("count_restarted_at"), never),
    )


def _latest_policy(field: str) -> Subquery:
    """A number from the policy of the person's latest ended session."""
    return Subquery(
        DoseSession.objects.filter(service_user=OuterRef("pk"))
        .exclude(status__in=OPEN_SESSION_STATUSES)
        .order_by("-opens_at")
        .values(f"policy__{field}")[:1]
    )


def consecutive_counts_apply(service_users: QuerySet, *, now: dt.datetime) -> None:
    """Recount these people's consecutive sessions not taken from their sessions,
    move those at the clinic's threshold to re-titration required, and raise the
    warning at 2 and the re-titration alert. Set-wise: the same queries for one
    person (a nurse withholding a dose) as for thousands (the scan)."""
    count = _streak(now).order_by().values("service_user").annotate(n=Count("pk")).values("n")
    ServiceUser.objects.filter(pk__in=service_users.values("pk")).update(
        consecutive_not_taken=Coalesce(Subquery(count), 0)
    )
    counted = ServiceUser.objects.filter(pk__in=service_users.values("pk"))
    history_snapshot(counted, reason="Consecutive count of sessions not taken", when=now)

    streak_start = Subquery(_streak(now).order_by("opens_at").values("pk")[:1])
    in_streak = counted.filter(consecutive_not_taken__gt=0).annotate(
        streak_start=streak_start,
        warning_at=_latest_policy("missed_warning_threshold"),
        threshold=_latest_policy("retitration_threshold"),
    )
    moved = service_users_transition_many(
        service_users=in_streak.filter(status__in=DOSED, consecutive_not_taken__gte=F("threshold")),
        to_status=Status.RETITRATION_REQUIRED,
        reason="Consecutive sessions not taken reached the clinic's threshold: "
        "tolerance may be lost. No dose until a prescriber issues a re-titration "
        "prescription.",
        now=now,
    )
    _raise_streak_alerts(
        in_streak.filter(consecutive_not_taken__gte=F("warning_at")),
        kind=AlertKind.CONSECUTIVE_MISSED,
        detail=" consecutive sessions not taken: contact the service user.",
        now=now,
    )
    if moved:
        _raise_streak_alerts(
            in_streak.filter(pk__in=moved),
            kind=AlertKind.RETITRATION_REQUIRED,
            cause=_tolerance_cause(),
            detail=" consecutive sessions not taken: re-titration required, no dose "
            "until a prescriber issues a re-titration prescription.",
            now=now,
        )


def _raise_streak_alerts(
    people: QuerySet, *, kind: AlertKind, detail: str, now, cause=None
) -> None:
    """One alert per streak: its cause is the streak's first session, unless given."""
    alerts_raise_from(
        people.values(
            alert_clinic=F("clinic_id"),
            alert_service_user=F("pk"),
            alert_session=F("streak_start"),
            alert_cause=cause or sql_text("streak:", F("streak_start")),
            alert_detail=sql_text(F("consecutive_not_taken"), detail),
        ),
        kind=kind,
        now=now,
    )


def _tolerance_cause():
    """The cause of a re-titration alert: the person and the dose (or re-titration)
    their tolerance is counted from, which is what tolerance_lapses_at marks. The
    count and the lapse name the same block, so whichever settles it first raises
    its one alert, however late the scan ran."""
    return sql_text("tolerance:", F("pk"), ":", F("tolerance_lapses_at"))


def tolerance_renew(service_user_id: int, *, since: dt.datetime, days: int) -> None:
    """A dose, a re-titration prescription or a return with opioid cover confirmed
    renews tolerance: it lapses the clinic's re-titration days later. A later time is
    never moved back by an earlier one."""
    lapses = since + dt.timedelta(days=days)
    ServiceUser.objects.filter(pk=service_user_id).filter(
        Q(tolerance_lapses_at__isnull=True) | Q(tolerance_lapses_at__lt=lapses)
    ).update(tolerance_lapses_at=lapses)


def _lapsed(now: dt.datetime, service_users: QuerySet | None) -> QuerySet:
    """People being dosed whose tolerance has lapsed by now (service_user_lapse_idx)."""
    lapsed = ServiceUser.objects.filter(status__in=DOSED, tolerance_lapses_at__lt=now)
    if service_users is not None:
        lapsed = lapsed.filter(pk__in=service_users)
    return lapsed


def lapses_apply(*, now: dt.datetime, service_users: QuerySet | None = None) -> list[int]:
    """docs/domain.md: when the last dose was more than the clinic's re-titration days ago,
    re-titration is required whatever the count. People being dosed whose
    tolerance_lapses_at has passed move to re-titration required, with the alert.
    One query when nobody has lapsed (service_user_lapse_idx)."""
    lapsed = _lapsed(now, service_users)
    if not lapsed.exists():
        return []
    with transaction.atomic():
        moved = service_users_transition_many(
            service_users=lapsed,
            to_status=Status.RETITRATION_REQUIRED,
            reason="The last dose was more than the clinic's re-titration days ago: "
            f"tolerance may be lost. {RETITRATION_NEXT}",
            now=now,
        )
        alerts_raise_from(
            ServiceUser.objects.filter(pk__in=moved).values(
                alert_clinic=F("clinic_id"),
                alert_service_user=F("pk"),
                # A typed NULL: PostgreSQL will not insert an untyped one as an id.
                alert_session=Cast(Value(None), output_field=BigIntegerField()),
                alert_cause=_tolerance_cause(),
                alert_detail=Value(
                    "No dose for longer than the clinic's re-titration days: re-titration "
                    f"required. {RETITRATION_NEXT}"
                ),
            ),
            kind=AlertKind.RETITRATION_REQUIRED,
            now=now,
        )
    return moved
