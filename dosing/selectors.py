"""Reads about prescriptions."""

import datetime as dt
from decimal import ROUND_DOWN, Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from eligibility.models import IN_TREATMENT, ServiceUser, StaffMembership, Status
from eligibility.selectors import admitted_at, policy_in_force

from .effective import ObservationAsRead, injections, with_amendments
from .models import (
    RETITRATION_RESTART,
    Administration,
    Amendment,
    Assessment,
    BreathTest,
    DoseSession,
    MethadonePrescription,
    Observation,
    Prescription,
    PrescriptionSlotDose,
    Review,
    SessionStatus,
)
from .review_evidence import evidence_for


def _with_doses(queryset: QuerySet[Prescription]) -> QuerySet[Prescription]:
    return queryset.select_related("prescriber", "cancellation").prefetch_related(
        Prefetch("slot_doses", queryset=PrescriptionSlotDose.objects.order_by("slot_code"))
    )


def _latest_started(versions: QuerySet, at: dt.datetime):
    return versions.filter(valid_from__lte=at).order_by("-valid_from", "-version").first()


def _not_cancelled(versions: QuerySet[Prescription]) -> QuerySet[Prescription]:
    # A cancelled future version never takes effect; it stays on record.
    return versions.filter(cancellation__isnull=True)


def _in_force(latest, at: dt.datetime):
    if latest is None or (latest.valid_to is not None and latest.valid_to <= at):
        return None
    return latest


def latest_prescription(*, service_user: ServiceUser, at: dt.datetime) -> Prescription | None:
    """The latest version that had started by ``at``, whether or not it has since ended."""
    return _latest_started(_with_doses(_not_cancelled(service_user.prescriptions.all())), at)


def prescription_in_force(
    *, service_user: ServiceUser, at: dt.datetime | None = None
) -> Prescription | None:
    """The version in force at ``at``: the latest started, unless it has ended. None if none."""
    at = at or timezone.now()
    return _in_force(latest_prescription(service_user=service_user, at=at), at)


def methadone_in_force(
    *, service_user: ServiceUser, at: dt.datetime | None = None
) -> MethadonePrescription | None:
    at = at or timezone.now()
    versions = service_user.methadone_prescriptions.select_related("pharmacy", "prescriber")
    return _in_force(_latest_started(versions, at), at)


def prescriptions_for_staff(user) -> QuerySet[Prescription]:
    """Every version the member of staff may see: their clinics' service users only."""
    if not user.is_authenticated:
        return Prescription.objects.none()
    return _with_doses(
        Prescription.objects.filter(
            service_user__clinic__in=StaffMembership.objects.clinic_ids_in_scope(user)
        )
    ).order_by("service_user", "-valid_from", "-version")


def methadone_prescriptions_for_staff(user) -> QuerySet[MethadonePrescription]:
    if not user.is_authenticated:
        return MethadonePrescription.objects.none()
    return (
        MethadonePrescription.objects.filter(
            service_user__clinic__in=StaffMembership.objects.clinic_ids_in_scope(user)
        )
        .select_related("pharmacy")
        .order_by("service_user", "-valid_from", "-version")
    )


def prescription_versions(*, service_user: ServiceUser) -> QuerySet[Prescription]:
    """Every version, cancelled ones included: they stay on record."""
    return _with_doses(service_user.prescriptions.all()).order_by("-valid_from", "-version")


def with_review_from(service_users: QuerySet) -> QuerySet:
    """Annotate each person's last review (``last_review_id``, ``last_reviewed_at``),
    admission (``admitted_at``) and the instant their review interval runs from
    (``review_from``): the last review, or admission for someone never reviewed."""
    last = Review.objects.filter(service_user=OuterRef("pk")).order_by("-reviewed_at")
    return service_users.annotate(
        last_review_id=Subquery(last.values("pk")[:1]),
        last_reviewed_at=Subquery(last.values("reviewed_at")[:1]),
        admitted_at=admitted_at(),
    ).annotate(review_from=Coalesce("last_reviewed_at", "admitted_at", "status_changed_at"))


def with_review_due(service_users: QuerySet, interval: dt.timedelta) -> QuerySet:
    """As with_review_from, and when the next review is due (``due_at``): the interval
    after ``review_from``. The review queue, the overdue scan and the workload
    dashboard read the same dates from here."""
    return with_review_from(service_users).annotate(
        due_at=ExpressionWrapper(F("review_from") + interval, output_field=DateTimeField())
    )


def review_queue(*, clinic, now: dt.datetime | None = None) -> list[ServiceUser]:
    """Everyone in treatment at the clinic, in one query: first whoever needs
    re-titration (no dose until a prescriber acts, whenever their review is due), then
    by due date, so the most overdue come next and the rest follow as they fall due.

    A review is due ``review_interval_days`` after the last one, or after
    admission for someone never reviewed. Each row gets ``last_reviewed_at``,
    ``due_at`` and ``review_state``: overdue, due, or done (reviewed within the
    interval).
    """
    now = now or timezone.now()
    interval = dt.timedelta(days=policy_in_force(clinic=clinic, at=now).review_interval_days)
    rows = list(
        with_review_due(
            ServiceUser.objects.filter(clinic=clinic, status__in=IN_TREATMENT), interval
        )
        .annotate(
            blocked=Case(
                When(status=Status.RETITRATION_REQUIRED, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("-blocked", "due_at", "family_name", "pk")
    )
    for row in rows:
        if row.due_at < now:
            row.review_state = "overdue"
            row.overdue_days = (now - row.due_at).days
        elif row.last_reviewed_at is not None and row.last_reviewed_at > now - interval:
            row.review_state = "done"
        else:
            row.review_state = "due"
    return rows


def reviews_for_staff(user) -> QuerySet[Review]:
    if not user.is_authenticated:
        return Review.objects.none()
    return Review.objects.filter(
        service_user__clinic__in=StaffMembership.objects.clinic_ids_in_scope(user)
    ).select_related("prescriber", "prescription")


def review_summary(*, service_user: ServiceUser, now: dt.datetime | None = None) -> dict:
    """What the prescriber looks at for the last 7 days, in a fixed number of queries:
    sessions by outcome, doses given, POSS and breath readings, withholds with their
    reasons, prescriptions and status changes, breath tests taken apart from a dose,
    and what other apps add (``dosing.review_evidence``: the last tox screen and
    methadone collections, from monitoring)."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=7)
    sessions = DoseSession.objects.filter(
        service_user=service_user, opens_at__gte=since, opens_at__lte=now
    )
    by_outcome = dict(sessions.values_list("status").annotate(n=Count("pk")).order_by())
    return {
        "since": since,
        "sessions_by_outcome": [
            (label, by_outcome.get(value, 0))
            for value, label in SessionStatus.choices
            if by_outcome.get(value)
        ],
        # As they now read: a corrected injection shows its corrected values.
        "doses_given": sorted(
            injections(
                Administration.objects.filter(session__in=sessions).select_related("session")
            ),
            key=lambda injection: injection.injected_at,
        ),
        "assessments": list(
            Assessment.objects.filter(session__in=sessions)
            .select_related("session")
            .order_by("assessed_at")
        ),
        "withholds": list(sessions.filter(status=SessionStatus.WITHHELD).order_by("opens_at")),
        "adverse_events": adverse_events(sessions=sessions),
        "prescription": prescription_in_force(service_user=service_user, at=now),
        "prescriptions_issued": list(
            _with_doses(service_user.prescriptions.filter(issued_at__gte=since)).order_by(
                "-issued_at"
            )
        ),
        "status_changes": list(
            service_user.status_changes.filter(changed_at__gte=since)
            .select_related("changed_by")
            .order_by("-changed_at")
        ),
        "previous_reviews": list(
            service_user.reviews.select_related("prescriber").order_by("-reviewed_at")[:3]
        ),
        "other_breath_tests": list(
            BreathTest.objects.filter(
                service_user=service_user, taken_at__gte=since, session__isnull=True
            ).order_by("taken_at")
        ),
        **evidence_for(service_user=service_user, since=since, now=now),
    }


def last_administered_session_dose(*, service_user: ServiceUser) -> Decimal | None:
    """The most recent dosed session's total injected dose (first injection plus top-up)."""
    return (
        DoseSession.objects.filter(service_user=service_user, administrations__isnull=False)
        .values("pk", "opens_at")
        .annotate(total=Sum("administrations__injected_mg"))
        .order_by("-opens_at")
        .values_list("total", flat=True)
        .first()
    )


def retitration_suggestion(
    *, service_user: ServiceUser, at: dt.datetime | None = None
) -> dict[str, Decimal]:
    """docs/domain.md: restart at 50% of the last administered session dose; the prescriber
    decides. Someone never dosed here is offered half their last prescribed doses."""
    at = at or timezone.now()
    last = latest_prescription(service_user=service_user, at=at)
    if last is None:
        return {}
    given = last_administered_session_dose(service_user=service_user)
    return {
        d.slot_code: ((given or d.dose_mg) * RETITRATION_RESTART).quantize(
            Decimal("0.01"), ROUND_DOWN
        )
        for d in last.slot_doses.all()
    }


# The last instant inside a window: it ends just before closes_at.
LAST_INSTANT = dt.timedelta(microseconds=1)


def dose_moment(session: DoseSession, now: dt.datetime) -> dt.datetime:
    """The moment whose prescription version the session shows. For a session dosed
    already, its first injection: the version the dose was given under. Otherwise
    open_moment(), the version a dose recorded now is checked against
    (dosing.dose_rules.prescription_for_injection). with_dose_in_force() reads the same
    moment in SQL."""
    first = next((a for a in session.administrations.all() if a.sequence == 1), None)
    if first is not None:
        return first.injected_at
    return open_moment(session, now)


def open_moment(session: DoseSession, now: dt.datetime) -> dt.datetime:
    """When a dose recorded now would be given: now while the window is open, its
    opening before, its last instant after. A dose or a top-up is checked against the
    version in force then, and the page's form carries that version."""
    return min(max(now, session.opens_at), session.closes_at - LAST_INSTANT)


def with_dose_in_force(sessions: QuerySet[DoseSession], now: dt.datetime) -> QuerySet:
    """Annotate each session with the prescription version in force at its dose moment
    (``prescription_in_force_id``, ``prescription_version``) and that version's dose for
    the slot (``dose_mg``), in the same query: the board and the API show what the
    server will enforce. A version that has ended by then gives no dose."""
    window_end = ExpressionWrapper(
        F("closes_at") - Value(LAST_INSTANT, output_field=DurationField()),
        output_field=DateTimeField(),
    )
    # The moment a dose recorded now would be given (dose_moment()).
    open_moment = Greatest(
        F("opens_at"), Least(Value(now, output_field=DateTimeField()), window_end)
    )
    started = Prescription.objects.filter(
        service_user=OuterRef("service_user"), cancellation__isnull=True
    ).order_by("-valid_from", "-version")
    by_now = started.filter(valid_from__lte=OuterRef("open_moment"))
    # A dosed session's first injection, read inside the subquery: Django cannot
    # point a subquery at an annotation that is itself a subquery.
    first_injection = Administration.objects.filter(
        session=OuterRef(OuterRef("pk")), sequence=1
    ).values("injected_at")[:1]
    by_injection = started.filter(valid_from__lte=Subquery(first_injection))
    completed = Q(first_injected_at__isnull=False)

    def either(field):
        return Case(
            When(completed, then=Subquery(by_injection.values(field)[:1])),
            default=Subquery(by_now.values(field)[:1]),
        )

    dose = PrescriptionSlotDose.objects.filter(
        prescription=OuterRef("prescription_in_force_id"), slot_code=OuterRef("slot_code")
    ).values("dose_mg")[:1]
    return (
        sessions.annotate(
            open_moment=open_moment,
            first_injected_at=Subquery(
                Administration.objects.filter(session=OuterRef("pk"), sequence=1).values(
                    "injected_at"
                )[:1]
            ),
        )
        .annotate(
            dose_moment=Case(
                When(completed, then=F("first_injected_at")),
                default=F("open_moment"),
                output_field=DateTimeField(),
            ),
            latest_started_id=either("pk"),
            latest_started_to=either("valid_to"),
            latest_started_version=either("version"),
        )
        .annotate(
            # The latest version started by then is in force unless it has ended.
            prescription_in_force_id=Case(
                When(
                    Q(latest_started_to__isnull=True) | Q(latest_started_to__gt=F("dose_moment")),
                    then=F("latest_started_id"),
                ),
                default=None,
            ),
        )
        .annotate(
            prescription_version=Case(
                When(prescription_in_force_id__isnull=False, then=F("latest_started_version")),
                default=None,
            ),
            dose_mg=Subquery(dose),
        )
    )


def dose_sessions_for_staff(user, *, now: dt.datetime | None = None) -> QuerySet[DoseSession]:
    """Sessions of the member of staff's clinics, with everything the board and API show,
    in a fixed number of queries."""
    if not user.is_authenticated:
        return DoseSession.objects.none()
    return with_dose_in_force(
        DoseSession.objects.filter(clinic__in=StaffMembership.objects.clinic_ids_in_scope(user))
        .select_related(
            "observation", "service_user", "guest_stay__home_clinic", "guest_stay__host_clinic"
        )
        .prefetch_related(
            Prefetch("assessments", queryset=Assessment.objects.order_by("sequence")),
            Prefetch("administrations", queryset=Administration.objects.order_by("sequence")),
            Prefetch(
                "amendments",
                queryset=Amendment.objects.select_related(
                    "administration", "assessment", "amended_by", "witness"
                ).order_by("amended_at", "pk"),
            ),
        )
        .order_by("clinic_day", "opens_at", "service_user__family_name", "pk"),
        now or timezone.now(),
    )


def current_slot(*, clinic, now: dt.datetime | None = None) -> tuple[dt.date, str | None]:
    """The slot the dosing room is working on: the one open now, else the next today,
    else the day's last."""
    now = now or timezone.now()
    day = clinic.clinic_day_of(now)
    policy = policy_in_force(clinic=clinic, at=now)
    windows = [(slot.code, *slot.window_on(day, clinic.zone)) for slot in policy.slots.all()]
    for code, opens, closes in windows:
        if opens <= now < closes:
            return day, code
    upcoming = [code for code, opens, _ in windows if opens > now]
    return day, (upcoming[0] if upcoming else (windows[-1][0] if windows else None))


def board_sessions(
    *, clinic, day: dt.date, slot_code: str, now: dt.datetime | None = None
) -> list[DoseSession]:
    """The board's rows in four queries whatever the number of service users: sessions
    with the person, observation and the dose in force for the slot at the moment the
    dose would be given, then the assessments, the injections and their corrections.
    An unscheduled session open now (issue 18.7) is on the board whatever its slot."""
    now = now or timezone.now()
    added_open_now = Q(added_by__isnull=False, opens_at__lte=now, closes_at__gt=now)
    return list(
        with_dose_in_force(
            DoseSession.objects.filter(clinic=clinic, clinic_day=day)
            .filter(Q(slot_code=slot_code) | added_open_now)
            .exclude(status=SessionStatus.TAKE_HOME)  # supplied: not the room's today
            .select_related(
                "service_user", "observation", "guest_stay__home_clinic", "guest_stay__host_clinic"
            )
            .prefetch_related(
                Prefetch("assessments", queryset=Assessment.objects.order_by("sequence")),
                Prefetch(
                    "administrations",
                    queryset=with_amendments(Administration.objects.order_by("sequence")),
                ),
            ),
            now or timezone.now(),
        ).order_by("service_user__family_name", "service_user__given_name", "pk")
    )


def with_observation_amendments(observations: QuerySet[Observation]) -> QuerySet[Observation]:
    """Observations with their sessions, observers and the sessions' corrections of
    their observation (``session.observation_amendments``), in one more query."""
    return observations.select_related("session", "observed_by").prefetch_related(
        Prefetch(
            "session__amendments",
            queryset=Amendment.objects.filter(record=Amendment.Record.OBSERVATION).order_by(
                "amended_at", "pk"
            ),
            to_attr="observation_amendments",
        )
    )


def observation_as_read(observation: Observation):
    """One observation of with_observation_amendments() as it now reads."""
    return ObservationAsRead.of(observation, observation.session.observation_amendments)  # type: ignore[attr-defined]


def observations_as_read(observations: QuerySet[Observation]) -> list[tuple[Observation, object]]:
    """Observations with each one as it now reads (an ObservationAsRead), in two queries."""
    return [(o, observation_as_read(o)) for o in with_observation_amendments(observations)]


def noteworthy_observations(sessions: QuerySet[DoseSession]) -> QuerySet[Observation]:
    """The observations of these sessions that may read as other than "no concerns": an
    adverse event, a service user who left early, or one corrected since."""
    return (
        Observation.objects.filter(session__in=sessions)
        .filter(
            ~Q(outcome=Observation.Outcome.NO_CONCERNS)
            | Q(session__amendments__record=Amendment.Record.OBSERVATION)
        )
        .distinct()
    )


def adverse_events(*, sessions: QuerySet[DoseSession], limit: int | None = None) -> list:
    """The adverse events among these sessions, as the observations now read, newest
    first: (session, ObservationAsRead) pairs, in two queries."""
    rows = noteworthy_observations(sessions).order_by("-observed_at", "-pk")
    if limit:
        # Noteworthy observations are mostly adverse events; a few left early or were
        # corrected to "no concerns". This many newest are enough to find ``limit``.
        rows = rows[: limit * 5]
    read = [(o.session, r) for o, r in observations_as_read(rows) if r.adverse]  # type: ignore[attr-defined]
    return read[:limit] if limit else read
