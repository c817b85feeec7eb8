"""The dosing room: assessment, supervised injection, observation, and how a session ends.

Every action locks the session row first, so two nurses acting on the same
session at once are serialised: the second sees the first's result and is told
"already recorded" (a Conflict, 409 in the API) instead of dosing twice.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core.audit import audited
from core.errors import Conflict, RuleViolation, choice, require_reason
from dosing.breath import breath_test_record, parse_breath
from eligibility.models import ServiceUser, Status

from .dose_rules import (
    check_daily_total,
    check_injection,
    check_interval,
    check_not_future,
    check_observation_times,
    check_time,
    check_window,
    local_time,
    prescription_for_injection,
)
from .effective import Injection, injections
from .mg import MAX_NALOXONE_MG
from .missed import consecutive_counts_apply, settle_service_user, tolerance_renew
from .models import (
    OPEN_SESSION_STATUSES,
    POSS_CAUTION,
    POSS_WITHHOLD,
    Administration,
    Assessment,
    DoseSession,
    Observation,
    Poss,
    Route,
    SessionStatus,
    Site,
    WithholdReason,
)
from .observation import adverse_event_alert, observation_due_at, observation_overdue_close
from .register import register_supply_for
from .services import format_mg, observation_check, parse_mg
from .witness import witness_confirm


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


def _check_not_blocked(service_user: ServiceUser) -> None:
    if service_user.status == Status.RETITRATION_REQUIRED:
        raise RuleViolation(
            f"{service_user.display_name} {RETITRATION_NEXT_STEP}",
            code="retitration_required",
        )


def _end(
    session: DoseSession,
    status: SessionStatus,
    *,
    by,
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


def _first_dose_of_day(session: DoseSession) -> bool:
    return not Administration.objects.filter(
        session__service_user=session.service_user_id, session__clinic_day=session.clinic_day
    ).exists()


class Reading:
    """What an assessment's POSS and breath reading call for under the clinic's policy:
    a withhold for sedation (POSS 3 or 4) or for alcohol (at the withhold threshold),
    and the cautions (POSS 2, breath at the caution threshold), each with the withhold
    reason a deferral would carry. The assessment and a correction of it read the same."""

    def __init__(self, poss: str, breath, policy):
        self.poss = poss
        self.sedation_withhold = None
        self.alcohol_withhold = None
        self.cautions = []
        if poss in POSS_CAUTION:
            self.cautions.append(("POSS 2", WithholdReason.SEDATION))
        if poss in POSS_WITHHOLD:
            self.sedation_withhold = (
                WithholdReason.SEDATION,
                f"POSS {poss}: too sedated to dose. Withheld for this session; escalate if "
                "sedation deepens.",
            )
        if breath is not None and policy.breath_thresholds_set:
            if breath >= policy.breath_withhold_threshold:
                self.alcohol_withhold = (
                    WithholdReason.ALCOHOL,
                    f"Breath alcohol {format_mg(breath)} µg/100 ml is at or above the withhold "
                    f"threshold of {format_mg(policy.breath_withhold_threshold)}: withheld for "
                    "this session.",
                )
            elif breath >= policy.breath_caution_threshold:
                self.cautions.append(
                    (
                        f"breath alcohol {format_mg(breath)} µg/100 ml (caution threshold "
                        f"{format_mg(policy.breath_caution_threshold)})",
                        WithholdReason.ALCOHOL,
                    )
                )

    @property
    def withhold(self):
        return self.alcohol_withhold or self.sedation_withhold

    @property
    def deferral_reason(self):
        """What a deferral would be withheld for, if the window closes first."""
        if self.sedation_withhold:
            return self.sedation_withhold[0]
        return self.cautions[0][1] if self.cautions else None

    def caution_text(self) -> str:
        return " and ".join(text for text, _ in self.cautions)

    def decision(self, *, defer: bool, caution_reason: str, closes_at) -> str:
        """Go on, withhold or defer; refuses a deferral with nothing to defer, and a
        caution without its reason."""
        if self.alcohol_withhold:
            return Assessment.Decision.WITHHOLD  # a hard stop: never deferred
        if defer:
            if self.deferral_reason is None:
                raise RuleViolation(
                    f"Nothing to defer: POSS {self.poss} with no caution can go on to the dose.",
                    code="defer_not_needed",
                    field="poss",
                )
            return Assessment.Decision.DEFER
        if self.sedation_withhold:
            return Assessment.Decision.WITHHOLD
        if self.cautions and not caution_reason:
            raise RuleViolation(
                f"Caution: {self.caution_text()}. Record why it is safe to go on, or defer the "
                f"dose and reassess later in this window (before {local_time(closes_at)}).",
                code="caution_reason_required",
                field="caution_reason",
            )
        return Assessment.Decision.PROCEED


# Assessments may be recorded on a session in these states: a deferred one is reassessed.
ASSESSABLE = (SessionStatus.SCHEDULED, SessionStatus.DEFERRED)


def session_assess(
    *,
    session: DoseSession,
    nurse,
    identity_confirmed: bool,
    poss: str,
    breath_mcg_per_100ml=None,
    caution_reason: str = "",
    defer: bool = False,
    now: dt.datetime | None = None,
) -> Assessment:
    """Record the pre-dose checks and what they lead to.

    POSS 3 or 4, or breath alcohol at or above the withhold threshold, withholds the
    dose: the assessment is kept and the session ends as withheld. A caution (POSS 2,
    breath at the caution threshold) needs a reason to go on. Instead of either, a
    caution or POSS 3 or 4 may be deferred (``defer``): the session stays open as
    deferred, and a nurse reassesses it later in the same window. If the window
    closes first, the missed-dose scan withholds it with the deferral's reason.
    """
    now = now or timezone.now()
    poss = choice(Poss, poss, field="poss", what="sedation score (POSS)")
    if not identity_confirmed:
        raise RuleViolation(
            "Confirm identity first: name, date of birth and photo.",
            code="identity_not_confirmed",
            field="identity_confirmed",
        )
    breath = None
    if breath_mcg_per_100ml not in (None, ""):
        breath = parse_breath(breath_mcg_per_100ml, field="breath_mcg_per_100ml")
    settle_service_user(session.service_user_id, now=now)
    with transaction.atomic():
        locked = lock_session(session)
        if locked.status not in ASSESSABLE:
            raise Conflict(already_ended(locked), code="session_not_scheduled")
        check_window(locked, now)
        _check_not_blocked(locked.service_user)
        policy = locked.policy
        if locked.service_user.flag_alcohol and _first_dose_of_day(locked):
            if not policy.breath_thresholds_set:
                raise RuleViolation(
                    f"{locked.service_user.display_name} is flagged for alcohol, and the clinic "
                    "has no breath alcohol thresholds set. The clinical lead must set them "
                    "before this person can be dosed.",
                    code="breath_thresholds_unset",
                )
            if breath is None:
                raise RuleViolation(
                    "A breath alcohol reading is required before the first dose of the day "
                    "for an alcohol-flagged service user.",
                    code="breath_required",
                    field="breath_mcg_per_100ml",
                )
        reading = Reading(poss, breath, policy)
        caution_reason = (caution_reason or "").strip()
        decision = reading.decision(
            defer=defer, caution_reason=caution_reason, closes_at=locked.closes_at
        )
        deferred = decision == Assessment.Decision.DEFER
        assessment = Assessment.objects.create(
            session=locked,
            sequence=locked.assessments.count() + 1,
            identity_confirmed=True,
            poss=poss,
            breath_mcg_per_100ml=breath,
            caution_reason=caution_reason,
            decision=decision,
            deferral_reason=reading.deferral_reason
            if decision == Assessment.Decision.DEFER
            else "",
            assessed_by=nurse,
            assessed_at=now,
        )
        if breath is not None:
            breath_test_record(
                service_user=locked.service_user,
                recorded_by=nurse,
                reading=breath,
                taken_at=now,
                session=locked,
                now=now,
            )
        if decision == Assessment.Decision.WITHHOLD:
            reason, note = reading.withhold
            _end(locked, SessionStatus.WITHHELD, by=nurse, reason=reason, note=note, now=now)
        else:
            locked.status = SessionStatus.DEFERRED if deferred else SessionStatus.ASSESSED
            locked.status_changed_at = now
            audited(
                locked,
                by=nurse,
                why=(
                    f"Deferred for reassessment: POSS {poss}"
                    if deferred
                    else f"Assessed: POSS {poss}"
                ),
            )
            locked.save(update_fields=["status", "status_changed_at"])
    session.refresh_from_db()
    return assessment


def assessment_outcome_message(assessment: Assessment, session: DoseSession) -> str:
    """What happened and what comes next, for the nurse who recorded the assessment."""
    if assessment.decision == Assessment.Decision.WITHHOLD:
        return f"Dose withheld. {session.outcome_note}"
    if assessment.decision == Assessment.Decision.DEFER:
        return (
            f"Deferred: reassess later in this window, before {local_time(session.closes_at)}. If "
            "the window closes first, the dose is withheld "
            f"({WithholdReason(assessment.deferral_reason).label.lower()})."
        )
    return "Assessment recorded: go on to the injection."


@sensitive_variables("witness_password")
def dose_administer(
    *,
    session: DoseSession,
    nurse,
    witness_username: str,
    witness_password: str,
    drawn_mg,
    injected_mg,
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
        _check_not_blocked(locked.service_user)
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
            first_injected_at=Injection(first).injected_at if topup else None,
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
        # Tolerance is counted from this dose (DOMAIN.md: re-titration after a lapse).
        tolerance_renew(
            locked.service_user_id, since=injected_at, days=locked.policy.retitration_days
        )
        # The observation is overdue this long after the last injection; the overdue
        # scan finds it by this time (dosing.missed.observations_overdue_scan).
        locked.observation_due_at = observation_due_at(locked, injected_at)
        if topup:
            locked.save(update_fields=["observation_due_at"])
        else:
            _end(
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
    observer,
    outcome: str,
    details: str = "",
    over_sedation: bool = False,
    overdose: bool = False,
    naloxone_mg=None,
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
    *, session: DoseSession, nurse, reason: str, note: str = "", now: dt.datetime | None = None
) -> DoseSession:
    """Staff withhold the dose on safety grounds, with a reason from the list."""
    now = now or timezone.now()
    reason = choice(WithholdReason, reason, field="reason", what="reason to withhold")
    if reason == WithholdReason.OTHER:
        note = require_reason(note, "Say why the dose is withheld.", field="note")
    return _end_open(session, SessionStatus.WITHHELD, by=nurse, reason=reason, note=note, now=now)


def session_decline(
    *, session: DoseSession, nurse, note: str = "", now: dt.datetime | None = None
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


def _end_open(session, status, *, by, reason, note, now) -> DoseSession:
    settle_service_user(session.service_user_id, now=now)
    with transaction.atomic():
        locked = lock_session(session)
        if locked.status not in OPEN_SESSION_STATUSES:
            raise Conflict(already_ended(locked), code="session_ended")
        _end(locked, status, by=by, reason=reason, note=(note or "").strip(), now=now)
    session.refresh_from_db()
    return session
