"""The dosing room: assessment, supervised injection, observation, and how a session ends.

Every action locks the session row first, so two nurses acting on the same
session at once are serialised: the second sees the first's result and is told
"already recorded" (a Conflict, 409 in the API) instead of dosing twice.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from eligibility.models import ServiceUser, Status
from hat_clinic.errors import Conflict, RuleViolation, require_reason
from monitoring.records import breath_test_record, parse_breath

from .missed import consecutive_counts_apply
from .models import (
    LOWER_LIMB_IV,
    OPEN_SESSION_STATUSES,
    POSS_CAUTION,
    POSS_WITHHOLD,
    SITES_FOR_ROUTE,
    Administration,
    Assessment,
    DoseSession,
    Observation,
    Poss,
    Route,
    SessionStatus,
    WithholdReason,
    WitnessFailure,
)
from .register import register_supply_for
from .selectors import prescription_in_force
from .services import format_mg, observation_check, parse_mg


def _local(instant: dt.datetime) -> str:
    return f"{timezone.localtime(instant):%H:%M}"


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def _lock(session: DoseSession) -> DoseSession:
    return DoseSession.objects.select_for_update().select_related("service_user").get(pk=session.pk)


def _check_window(session: DoseSession, at: dt.datetime) -> None:
    if not (session.opens_at <= at < session.closes_at):
        raise RuleViolation(
            f"The {session.slot_code} window is {_local(session.opens_at)} to "
            f"{_local(session.closes_at)}; it is {_local(at)}. Doses are given only inside "
            "the window.",
            code="outside_window",
        )


def _check_not_blocked(service_user: ServiceUser) -> None:
    if service_user.status == Status.RETITRATION_REQUIRED:
        raise RuleViolation(
            f"{service_user.display_name} needs re-titration: no dose until a prescriber "
            "issues a re-titration prescription.",
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
) -> None:
    """Give the session its outcome and apply it to the consecutive count."""
    session.status = status
    session.status_changed_at = now
    session.outcome_by = by
    session.outcome_reason = reason
    session.outcome_note = note
    session._history_user = by
    session._change_reason = note or status.label
    session.save(
        update_fields=[
            "status",
            "status_changed_at",
            "outcome_by",
            "outcome_reason",
            "outcome_note",
        ]
    )
    # Recount the person's sessions not taken, with the missed-dose scan's rule,
    # threshold and alerts.
    consecutive_counts_apply(ServiceUser.objects.filter(pk=session.service_user_id), now=now)


def _first_dose_of_day(session: DoseSession) -> bool:
    return not Administration.objects.filter(
        session__service_user=session.service_user_id, session__clinic_day=session.clinic_day
    ).exists()


def session_assess(
    *,
    session: DoseSession,
    nurse,
    identity_confirmed: bool,
    poss: str,
    breath_mcg_per_100ml=None,
    caution_reason: str = "",
    now: dt.datetime | None = None,
) -> Assessment:
    """Record the pre-dose checks. POSS 3 or 4, or breath alcohol at or above the
    withhold threshold, withholds the dose: the assessment is kept and the session
    ends as withheld."""
    now = now or timezone.now()
    poss = Poss(poss)
    if not identity_confirmed:
        raise RuleViolation(
            "Confirm identity first: name, date of birth and photo.",
            code="identity_not_confirmed",
            field="identity_confirmed",
        )
    breath = None
    if breath_mcg_per_100ml not in (None, ""):
        breath = parse_breath(breath_mcg_per_100ml, field="breath_mcg_per_100ml")
    with transaction.atomic():
        locked = _lock(session)
        if locked.status != SessionStatus.SCHEDULED:
            raise Conflict(
                f"This session is already {locked.get_status_display().lower()}.",
                code="session_not_scheduled",
            )
        _check_window(locked, now)
        _check_not_blocked(locked.service_user)
        policy = locked.policy
        cautions = []
        if poss in POSS_CAUTION:
            cautions.append("POSS 2")
        withhold = None
        if poss in POSS_WITHHOLD:
            withhold = (
                WithholdReason.SEDATION,
                f"POSS {poss}: too sedated to dose. Withheld; reassess and escalate.",
            )
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
        if breath is not None and policy.breath_thresholds_set:
            if breath >= policy.breath_withhold_threshold:
                withhold = withhold or (
                    WithholdReason.ALCOHOL,
                    f"Breath alcohol {format_mg(breath)} µg/100 ml is at or above the withhold "
                    f"threshold of {format_mg(policy.breath_withhold_threshold)}.",
                )
            elif breath >= policy.breath_caution_threshold:
                cautions.append(
                    f"breath alcohol {format_mg(breath)} µg/100 ml (caution threshold "
                    f"{format_mg(policy.breath_caution_threshold)})"
                )
        caution_reason = (caution_reason or "").strip()
        if cautions and not withhold and not caution_reason:
            raise RuleViolation(
                f"Caution: {' and '.join(cautions)}. Record why it is safe to go on.",
                code="caution_reason_required",
                field="caution_reason",
            )
        assessment = Assessment.objects.create(
            session=locked,
            identity_confirmed=True,
            poss=poss,
            breath_mcg_per_100ml=breath,
            caution_reason=caution_reason,
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
        if withhold:
            _end(
                locked,
                SessionStatus.WITHHELD,
                by=nurse,
                reason=withhold[0],
                note=withhold[1],
                now=now,
            )
        else:
            locked.status = SessionStatus.ASSESSED
            locked.status_changed_at = now
            locked._history_user = nurse
            locked._change_reason = f"Assessed: POSS {poss}"
            locked.save(update_fields=["status", "status_changed_at"])
    session.refresh_from_db()
    return assessment


def witness_confirm(
    *,
    witness_username: str,
    witness_password: str,
    nurse,
    clinic,
    now: dt.datetime,
    permission: str = "dosing.witness_dose",
    may_witness: str = "doses in this clinic: a witness is an HCA or a nurse of the clinic",
):
    """The witness confirms with their own credentials: picking a name is not enough.

    Wrong passwords are limited like logins (AXES_FAILURE_LIMIT within
    AXES_COOLOFF_TIME, per witness), so the field cannot be used to guess a
    colleague's password. Failures are saved outside the dose's transaction.
    """
    window_start = now - settings.AXES_COOLOFF_TIME
    failures = WitnessFailure.objects.filter(username=witness_username, failed_at__gte=window_start)
    if failures.count() >= settings.AXES_FAILURE_LIMIT:
        raise RuleViolation(
            f"Too many wrong passwords for witness {witness_username}: witnessing is locked "
            f"for {int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)} minutes. Ask another "
            "member of staff to witness.",
            code="witness_locked",
            field="witness_username",
        )
    witness = get_user_model().objects.filter(username=witness_username).first()
    if witness is None or not witness.check_password(witness_password or ""):
        WitnessFailure.objects.create(username=witness_username, failed_at=now, nurse=nurse)
        raise RuleViolation(
            "The witness's username or password is not right. The witness must enter their own.",
            code="witness_not_confirmed",
            field="witness_password",
        )
    WitnessFailure.objects.filter(username=witness_username).delete()
    if witness.pk == nurse.pk:
        raise RuleViolation(
            "The witness must be a different member of staff.",
            code="witness_is_nurse",
            field="witness_username",
        )
    if not (
        witness.is_active
        and witness.has_perm(permission)
        and witness.memberships.filter(clinic=clinic).exists()
    ):
        raise RuleViolation(
            f"{witness.get_full_name() or witness.username} cannot witness {may_witness}.",
            code="witness_not_allowed",
            field="witness_username",
        )
    return witness


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
    now: dt.datetime | None = None,
) -> Administration:
    """Record one supervised self-injection, refusing every hard stop with its numbers."""
    now = now or timezone.now()
    injected_at = injected_at or now
    drawn = parse_mg(drawn_mg, field="drawn_mg")
    injected = parse_mg(injected_mg, field="injected_mg")
    route, site = Route(route), site
    if site not in SITES_FOR_ROUTE[route]:
        raise RuleViolation(
            f"{site} is not a site for {route.label.lower()} injection.",
            code="site_not_for_route",
            field="site",
        )
    if route == Route.IV and site in LOWER_LIMB_IV and not (risk_discussion or "").strip():
        raise RuleViolation(
            "A lower-limb IV injection needs the risk discussion recorded.",
            code="risk_discussion_required",
            field="risk_discussion",
        )
    if injected > drawn:
        raise RuleViolation(
            f"Injected {format_mg(injected)} mg is more than the {format_mg(drawn)} mg drawn up.",
            code="injected_above_drawn",
            field="injected_mg",
        )
    if injected_at > now:
        raise RuleViolation(
            "The injection time cannot be in the future.",
            code="injection_in_future",
            field="injected_at",
        )
    # Before the lock: password hashing is slow by design and must not hold the row.
    witness = witness_confirm(
        witness_username=witness_username,
        witness_password=witness_password,
        nurse=nurse,
        clinic=session.clinic,
        now=now,
    )
    with transaction.atomic():
        locked = _lock(session)
        expected = SessionStatus.ADMINISTERED if topup else SessionStatus.ASSESSED
        if locked.status != expected:
            if not topup and locked.status in (SessionStatus.ADMINISTERED, SessionStatus.OBSERVED):
                raise Conflict(
                    "This dose is already recorded. Reload the session before doing anything else.",
                    code="already_recorded",
                )
            raise RuleViolation(
                f"The session is {locked.get_status_display().lower()}: "
                + (
                    "a top-up follows the first injection."
                    if topup
                    else "assess the service user before the dose."
                ),
                code="session_not_ready",
            )
        _check_window(locked, injected_at)
        _check_not_blocked(locked.service_user)
        prescription = prescription_in_force(service_user=locked.service_user, at=injected_at)
        if prescription is None:
            raise RuleViolation(
                "There is no prescription in force: no dose can be given.", code="no_prescription"
            )
        if route not in prescription.routes:
            raise RuleViolation(
                f"The prescription does not allow the {route.label.lower()} route.",
                code="route_not_prescribed",
                field="route",
            )
        session_dose = prescription.dose_for(locked.slot_code)
        if session_dose is None:
            raise RuleViolation(
                f"The prescription has no {locked.slot_code} dose.", code="no_dose_for_slot"
            )
        policy = locked.policy
        first = locked.administrations.order_by("sequence").first()
        if topup:
            if locked.administrations.filter(sequence=2).exists():
                raise Conflict("The top-up is already recorded.", code="already_recorded")
            _check_topup(prescription, first, injected, injected_at, policy)
        elif injected > session_dose:
            raise RuleViolation(
                f"{format_mg(injected)} mg is above the prescribed {locked.slot_code} dose of "
                f"{format_mg(session_dose)} mg.",
                code="dose_above_prescription",
                field="injected_mg",
            )
        if not topup:
            _check_interval(locked, injected_at, policy)
        given_today = Administration.objects.filter(
            session__service_user=locked.service_user_id, session__clinic_day=locked.clinic_day
        ).aggregate(total=Sum("injected_mg"))["total"] or Decimal(0)
        if given_today + injected > prescription.max_daily_total_mg:
            raise RuleViolation(
                f"{format_mg(injected)} mg would bring today's total to "
                f"{format_mg(given_today + injected)} mg, above the prescribed daily maximum of "
                f"{format_mg(prescription.max_daily_total_mg)} mg.",
                code="daily_total_exceeded",
                field="injected_mg",
            )
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
                "This dose is already recorded. Reload the session before doing anything else.",
                code="already_recorded",
            ) from error
        # The controlled drugs register: the drawn amount is supplied (and any rest
        # recorded as waste) in the same transaction, so a dose is never on record
        # without its register line, and too little stock refuses the dose.
        register_supply_for(administration, now=now)
        if not topup:
            _end(locked, SessionStatus.ADMINISTERED, by=nurse, now=now)
    session.refresh_from_db()
    return administration


def _check_topup(prescription, first, injected, injected_at, policy) -> None:
    if not prescription.topup_max_mg:
        raise RuleViolation("The prescription allows no top-up.", code="topup_not_allowed")
    earliest = first.injected_at + dt.timedelta(minutes=policy.topup_gap_minutes)
    if injected_at < earliest:
        raise RuleViolation(
            f"A top-up comes at least {policy.topup_gap_minutes} minutes after the first "
            f"injection ({_local(first.injected_at)}): not before {_local(earliest)}.",
            code="topup_too_soon",
        )
    if injected > prescription.topup_max_mg:
        raise RuleViolation(
            f"{format_mg(injected)} mg is above the top-up allowance of "
            f"{format_mg(prescription.topup_max_mg)} mg.",
            code="topup_above_allowance",
            field="injected_mg",
        )


def _check_interval(session: DoseSession, injected_at: dt.datetime, policy) -> None:
    """No injection starts less than the minimum interval after the previous session's."""
    last = (
        Administration.objects.filter(session__service_user=session.service_user_id)
        .exclude(session=session)
        .order_by("-injected_at")
        .first()
    )
    if last is None:
        return
    earliest = last.injected_at + dt.timedelta(minutes=policy.min_dose_interval_minutes)
    if injected_at < earliest:
        raise RuleViolation(
            f"The last injection was at {_local(last.injected_at)}; at least "
            f"{_duration(policy.min_dose_interval_minutes)} must pass. The next may start at "
            f"{_local(earliest)}.",
            code="interval_too_short",
        )


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
    """Close the session after at least the observation time since the last injection."""
    now = now or timezone.now()
    outcome = Observation.Outcome(outcome)
    naloxone = None if naloxone_mg in (None, "") else parse_mg(naloxone_mg, field="naloxone_mg")
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
        locked = _lock(session)
        if locked.status != SessionStatus.ADMINISTERED:
            raise Conflict(
                f"This session is {locked.get_status_display().lower()}; "
                "observation follows an injection.",
                code="session_not_administered",
            )
        last = locked.administrations.order_by("-injected_at").first()
        minutes = locked.policy.observation_minutes
        until = last.injected_at + dt.timedelta(minutes=minutes)
        if now < until:
            raise RuleViolation(
                f"Observation lasts at least {minutes} minutes after the last injection "
                f"({_local(last.injected_at)}): it can be completed from {_local(until)}.",
                code="observation_too_soon",
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
        locked._history_user = observer
        locked._change_reason = f"Observed: {outcome.label}"
        locked.save(update_fields=["status", "status_changed_at"])
    session.refresh_from_db()
    return observation


def session_withhold(
    *, session: DoseSession, nurse, reason: str, note: str = "", now: dt.datetime | None = None
) -> DoseSession:
    """Staff withhold the dose on safety grounds, with a reason from the list."""
    now = now or timezone.now()
    reason = WithholdReason(reason)
    if reason == WithholdReason.OTHER:
        note = require_reason(note, "Say why the dose is withheld.")
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
    with transaction.atomic():
        locked = _lock(session)
        if locked.status not in OPEN_SESSION_STATUSES:
            raise Conflict(
                f"This session is already {locked.get_status_display().lower()}.",
                code="session_ended",
            )
        _end(locked, status, by=by, reason=reason, note=(note or "").strip(), now=now)
    session.refresh_from_db()
    return session
