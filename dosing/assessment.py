"""The pre-dose assessment: POSS and breath readings against the clinic's policy,
decide to proceed, defer or withhold, before any dose is given."""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from core.audit import audited
from core.errors import Conflict, RuleViolation, choice

from .breath import breath_test_record, parse_breath
from .dose_rules import (
    check_window,
    local_time,
)
from .mg import format_mg
from .missed import settle_service_user
from .models import (
    POSS_CAUTION,
    POSS_WITHHOLD,
    Administration,
    Assessment,
    DoseSession,
    Poss,
    SessionStatus,
    WithholdReason,
)
from .room import already_ended, check_not_blocked, end_session, lock_session

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from eligibility.models import ClinicPolicy


def first_dose_of_day(session: DoseSession) -> bool:
    return not Administration.objects.filter(
        session__service_user=session.service_user_id, session__clinic_day=session.clinic_day
    ).exists()


class Reading:
    """What an assessment's POSS and breath reading call for under the clinic's policy:
    a withhold for sedation (POSS 3 or 4) or for alcohol (at the withhold threshold),
    and the cautions (POSS 2, breath at the caution threshold), each with the withhold
    reason a deferral would carry. The assessment and a correction of it read the same."""

    def __init__(self, poss: str, breath: Decimal | None, policy: "ClinicPolicy") -> None:
        self.poss = poss
        self.sedation_withhold: tuple[WithholdReason, str] | None = None
        self.alcohol_withhold: tuple[WithholdReason, str] | None = None
        self.cautions: list[tuple[str, WithholdReason]] = []
        if poss in POSS_CAUTION:
            self.cautions.append(("POSS 2", WithholdReason.SEDATION))
        if poss in POSS_WITHHOLD:
            self.sedation_withhold = (
                WithholdReason.SEDATION,
                f"POSS {poss}: too sedated to dose. Withheld for this session; escalate if "
                "sedation deepens.",
            )
        if breath is not None and policy.breath_thresholds_set:
            if breath >= policy.breath_withhold_threshold:  # type: ignore[operator]
                self.alcohol_withhold = (
                    WithholdReason.ALCOHOL,
                    f"Breath alcohol {format_mg(breath)} µg/100 ml is at or above the withhold "
                    f"threshold of {format_mg(policy.breath_withhold_threshold)}: withheld for "  # type: ignore[arg-type]
                    "this session.",
                )
            elif breath >= policy.breath_caution_threshold:  # type: ignore[operator]
                self.cautions.append(
                    (
                        f"breath alcohol {format_mg(breath)} µg/100 ml (caution threshold "
                        f"{format_mg(policy.breath_caution_threshold)})",  # type: ignore[arg-type]
                        WithholdReason.ALCOHOL,
                    )
                )

    @property
    def withhold(self) -> tuple[WithholdReason, str] | None:
        return self.alcohol_withhold or self.sedation_withhold

    @property
    def deferral_reason(self) -> WithholdReason | None:
        """What a deferral would be withheld for, if the window closes first."""
        if self.sedation_withhold:
            return self.sedation_withhold[0]
        return self.cautions[0][1] if self.cautions else None

    def caution_text(self) -> str:
        return " and ".join(text for text, _ in self.cautions)

    def decision(self, *, defer: bool, caution_reason: str, closes_at: dt.datetime) -> str:
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
    nurse: "User",
    identity_confirmed: bool,
    poss: str,
    breath_mcg_per_100ml: object = None,
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
        check_not_blocked(locked.service_user)
        policy = locked.policy
        if locked.service_user.flag_alcohol and first_dose_of_day(locked):
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
        assessment = Assessment.objects.create(  # type: ignore[misc]
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
            reason, note = reading.withhold  # type: ignore[misc]
            end_session(locked, SessionStatus.WITHHELD, by=nurse, reason=reason, note=note, now=now)
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
