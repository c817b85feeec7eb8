"""The dosing room: assessment, supervised injection, observation, and how a session ends.

Every action locks the session row first, so two nurses acting on the same
session at once are serialised: the second sees the first's result and is told
"already recorded" (a Conflict, 409 in the API) instead of dosing twice.
"""

import datetime as dt
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core.audit import audited
from core.errors import Conflict, RuleViolation, choice, require_reason
from eligibility.models import ServiceUser, Status

from .dose_rules import (
    check_daily_total,
    check_injection,
    check_interval,
    check_not_future,
    check_observation_times,
    check_time,
    local_time,
    observation_check,
    prescription_for_injection,
)
from .effective import Injection, injections
from .mg import MAX_NALOXONE_MG, parse_mg
from .missed import consecutive_counts_apply, settle_service_user, tolerance_renew
from .models import (
    OPEN_SESSION_STATUSES,
    Administration,
    DoseSession,
    Observation,
    Route,
    SessionStatus,
    Site,
    WithholdReason,
)
from .observation import adverse_event_alert, observation_due_at, observation_overdue_close
from .register_doses import register_supply_for
from .witness import witness_confirm

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def lock_session(session: DoseSession) -> DoseSession:
    """The session's row, locked, with its service user's row locked too (FOR UPDATE
    covers the joined row): every action and correction on a session, and on that
    person's other sessions, waits for the one before it."""
    return DoseSession.objects.select_for_update().select_related("service_user").get(pk=session.pk)


ALREADY_RECORDED = "This dose is already recorded. Reload the session before doing anything else."


RETITRATION_NEXT_STEP = (
    "needs re-titration: no dose until a prescriber issues a re-titration prescription. "
    "Tell the prescriber; they can prescribe from the service user's page."
)


def already_ended(session: DoseSession) -> str:
    """Why nothing more can be recorded on a session that has its outcome."""
    message = f"This session is already {session.get_status_display().lower()}."
    if session.status == SessionStatus.MISSED:
        message += (
            f" Its window, {local_time(session.opens_at)} to {local_time(session.closes_at)}, "
            "closed with no dose recorded."
        )
    return message


def check_not_blocked(service_user: ServiceUser) -> None:
    if service_user.status == Status.RETITRATION_REQUIRED:
        raise RuleViolation(
            f"{service_user.display_name} {RETITRATION_NEXT_STEP}",
            code="retitration_required",
        )


def end_session(
    session: DoseSession,
    status: SessionStatus,
    *,
    by: "User | None",
    reason: str = "",
    note: str = "",
    now: dt.datetime,
    also: tuple[str, ...] = (),
) -> None:
    """Give the session its outcome (saving ``also`` with it) and apply it to the
    consecutive count."""
    session.status = status
    session.status_changed_at = now
    session.outcome_by = by
    session.outcome_reason = reason
    session.outcome_note = note
    audited(session, by=by, why=note or status.label)
    session.save(
        update_fields=[
            "status",
            "status_changed_at",
            "outcome_by",
            "outcome_reason",
            "outcome_note",
            *also,
        ]
    )
    # Recount the person's sessions not taken, with the missed-dose scan's rule,
    # threshold and alerts.
    consecutive_counts_apply(ServiceUser.objects.filter(pk=session.service_user_id), now=now)


@sensitive_variables("witness_password")
def dose_administer(
    *,
    session: DoseSession,
    nurse: "User",
    witness_username: str,
    witness_password: str,
    drawn_mg: object,
    injected_mg: object,
    route: str,
    site: str,
    risk_discussion: str = "",
    topup: bool = False,
    injected_at: dt.datetime | None = None,
    prescription: int | None = None,
    now: dt.datetime | None = None,
) -> Administration:
    """Record one supervised self-injection, refusing every hard stop with its numbers.

    ``prescription`` is the version the nurse's screen showed (optional in the API): if
    another version came into force since, the dose is refused, naming the new dose."""
    now = now or timezone.now()
    injected_at = injected_at or now
    drawn = parse_mg(drawn_mg, field="drawn_mg")
    injected = parse_mg(injected_mg, field="injected_mg")
    route = choice(Route, route, field="route")
    site = choice(Site, site, field="site")
    check_injection(
        drawn=drawn, injected=injected, route=route, site=site, risk_discussion=risk_discussion
    )
    check_not_future(injected_at, now)
    settle_service_user(session.service_user_id, now=now)
    # Before the lock: password hashing is slow by design and must not hold the row.
    witness = witness_confirm(
        witness_username=witness_username,
        witness_password=witness_password,
        nurse=nurse,
        clinic=session.clinic,
        now=now,
    )
    with transaction.atomic():
        # This person's doses in other sessions, whose interval and daily total are read
        # below, are recorded one at a time: the lock covers the person's row.
        locked = lock_session(session)
        expected = SessionStatus.ADMINISTERED if topup else SessionStatus.ASSESSED
        if not topup and locked.status in (SessionStatus.ADMINISTERED, SessionStatus.OBSERVED):
            raise Conflict(
                ALREADY_RECORDED,
                code="already_recorded",
            )
        # A blocked person is told so, whatever the session's state: the next step is
        # a prescriber's, not another assessment.
        check_not_blocked(locked.service_user)
        if locked.status != expected:
            raise RuleViolation(
                f"The session is {locked.get_status_display().lower()}: "
                + (
                    "a top-up follows the first injection."
                    if topup
                    else "assess the service user before the dose."
                ),
                code="session_not_ready",
            )
        check_time(locked, injected_at, now)
        first = locked.administrations.filter(sequence=1).first()
        if topup and locked.administrations.filter(sequence=2).exists():
            raise Conflict("The top-up is already recorded.", code="already_recorded")
        in_force = prescription_for_injection(
            locked,
            sequence=2 if topup else 1,
            drawn=drawn,
            injected=injected,
            route=route,
            injected_at=injected_at,
            # The first injection as it now reads, corrections applied.
            first_injected_at=Injection(first).injected_at if topup else None,  # type: ignore[arg-type]
            shown_prescription=prescription,
        )
        check_interval(locked, injected_at, locked.policy)
        check_daily_total(locked, injected=injected, prescription=in_force)
        try:
            with transaction.atomic():
                administration = Administration.objects.create(
                    session=locked,
                    sequence=2 if topup else 1,
                    drawn_mg=drawn,
                    injected_mg=injected,
                    route=route,
                    site=site,
                    risk_discussion=(risk_discussion or "").strip(),
                    injected_at=injected_at,
                    nurse=nurse,
                    witness=witness,
                    recorded_at=now,
                )
        except IntegrityError as error:
            raise Conflict(
                ALREADY_RECORDED,
                code="already_recorded",
            ) from error
        # The controlled drugs register: the drawn amount is supplied (and any rest
        # recorded as waste) in the same transaction, so a dose is never on record
        # without its register line, and too little stock refuses the dose.
        register_supply_for(administration, now=now)
        # Tolerance is counted from this dose (docs/domain.md: re-titration after a lapse).
        tolerance_renew(
            locked.service_user_id, since=injected_at, days=locked.policy.retitration_days
        )
        # The observation is overdue this long after the last injection; the overdue
        # scan finds it by this time (dosing.missed.observations_overdue_scan).
        locked.observation_due_at = observation_due_at(locked, injected_at)
        if topup:
            locked.save(update_fields=["observation_due_at"])
        else:
            end_session(
                locked,
                SessionStatus.ADMINISTERED,
                by=nurse,
                now=now,
                also=("observation_due_at",),
            )
    session.refresh_from_db()
    return administration


def session_observe(
    *,
    session: DoseSession,
    observer: "User",
    outcome: str,
    details: str = "",
    over_sedation: bool = False,
    overdose: bool = False,
    naloxone_mg: object = None,
    naloxone_at: dt.datetime | None = None,
    ambulance_called: bool = False,
    now: dt.datetime | None = None,
) -> Observation:
    """Close the session: after at least the observation time since the last injection,
    or earlier when the service user left before it ended. An adverse event alerts
    prescribers and managers at once."""
    now = now or timezone.now()
    outcome = choice(Observation.Outcome, outcome, field="outcome", what="observation outcome")
    naloxone = (
        None
        if naloxone_mg in (None, "")
        else parse_mg(naloxone_mg, field="naloxone_mg", maximum=MAX_NALOXONE_MG)
    )
    observation_check(
        outcome=outcome,
        details=details,
        over_sedation=over_sedation,
        overdose=overdose,
        naloxone_mg=naloxone,
        naloxone_at=naloxone_at,
        ambulance_called=ambulance_called,
    )
    with transaction.atomic():
        locked = lock_session(session)
        if locked.status != SessionStatus.ADMINISTERED:
            raise Conflict(
                f"This session is {locked.get_status_display().lower()}; "
                "observation follows an injection.",
                code="session_not_administered",
            )
        check_observation_times(
            locked,
            injected=injections(locked.administrations.all()),
            outcome=outcome,
            naloxone_at=naloxone_at,
            observed_at=now,
            now=now,
        )
        observation = Observation.objects.create(
            session=locked,
            outcome=outcome,
            over_sedation=over_sedation,
            overdose=overdose,
            naloxone_mg=naloxone,
            naloxone_at=naloxone_at,
            ambulance_called=ambulance_called,
            details=(details or "").strip(),
            observed_by=observer,
            observed_at=now,
        )
        locked.status = SessionStatus.OBSERVED
        locked.status_changed_at = now
        audited(locked, by=observer, why=f"Observed: {outcome.label}")
        locked.save(update_fields=["status", "status_changed_at"])
        if outcome == Observation.Outcome.ADVERSE_EVENT:
            adverse_event_alert(locked, observation, now=now)
        observation_overdue_close(locked, by=observer, now=now)
    session.refresh_from_db()
    return observation


def session_withhold(
    *,
    session: DoseSession,
    nurse: "User",
    reason: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> DoseSession:
    """Staff withhold the dose on safety grounds, with a reason from the list."""
    now = now or timezone.now()
    reason = choice(WithholdReason, reason, field="reason", what="reason to withhold")
    if reason == WithholdReason.OTHER:
        note = require_reason(note, "Say why the dose is withheld.", field="note")
    return _end_open(session, SessionStatus.WITHHELD, by=nurse, reason=reason, note=note, now=now)


def session_decline(
    *, session: DoseSession, nurse: "User", note: str = "", now: dt.datetime | None = None
) -> DoseSession:
    """The service user declines the dose."""
    return _end_open(
        session,
        SessionStatus.DECLINED,
        by=nurse,
        reason="declined",
        note=note,
        now=now or timezone.now(),
    )


def _end_open(
    session: DoseSession,
    status: SessionStatus,
    *,
    by: "User",
    reason: str,
    note: str,
    now: dt.datetime,
) -> DoseSession:
    settle_service_user(session.service_user_id, now=now)
    with transaction.atomic():
        locked = lock_session(session)
        if locked.status not in OPEN_SESSION_STATUSES:
            raise Conflict(already_ended(locked), code="session_ended")
        end_session(locked, status, by=by, reason=reason, note=(note or "").strip(), now=now)
    session.refresh_from_db()
    return session
