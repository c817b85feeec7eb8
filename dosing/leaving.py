"""Suspension (hospital, custody) and exit (docs/domain.md, "The pathway", "Missed
doses and re-titration"). Both touch the person's sessions, so they live here."""

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import alert_raise
from core.audit import audited, history_snapshot
from core.errors import Conflict, RuleViolation, choice, day_not_in_future, require_reason
from eligibility.models import Referral, ServiceUser, Status
from eligibility.pathway import places_changed
from eligibility.selectors import policy_in_force
from eligibility.services import service_user_transition

from .missed import lapses_apply, settle_service_user, tolerance_renew
from .models import (
    EXIT_DETAILS,
    OPEN_SESSION_STATUSES,
    DoseSession,
    Exit,
    ExitDetail,
    ExitKind,
    SessionStatus,
    Suspension,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from eligibility.models import Clinic

SUSPENDABLE = (
    Status.TITRATION,
    Status.MAINTENANCE,
    Status.RETITRATION,
    Status.RETITRATION_REQUIRED,
)
# How far back a suspension or exit may be dated: it is recorded when staff learn of it.
BACKDATE_LIMIT = dt.timedelta(days=14)


def _check_day(day: dt.date, clinic: "Clinic", now: dt.datetime, *, field: str, what: str) -> None:
    today = day_not_in_future(day, clinic, now, field=field, what=what)
    if day < today - BACKDATE_LIMIT:
        raise RuleViolation(
            f"The {what} is more than {BACKDATE_LIMIT.days} days ago. Record it as the day "
            "staff learned of it, and say the real date in the reason.",
            code="date_too_old",
            field=field,
        )


def _end_sessions(
    sessions: QuerySet[DoseSession], *, reason: str, history: str, now: dt.datetime
) -> int:
    """Excuse open sessions (set-wise, with a history row each)."""
    ids = list(sessions.filter(status__in=OPEN_SESSION_STATUSES).values_list("pk", flat=True))
    if ids:
        DoseSession.objects.filter(pk__in=ids, status__in=OPEN_SESSION_STATUSES).update(
            status=SessionStatus.EXCUSED, status_changed_at=now, outcome_reason=reason
        )
        history_snapshot(DoseSession.objects.filter(pk__in=ids), reason=history, when=now)
    return len(ids)


def suspension_start(
    *,
    service_user: ServiceUser,
    kind: str,
    starts_on: dt.date,
    reason: str,
    recorded_by: "User",
    expected_end_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Suspension:
    """Suspend: no doses while in hospital or custody; the sessions from starts_on
    (to the expected end, if known) are excused, and new ones are made excused."""
    now = now or timezone.now()
    kind = choice(Suspension.Kind, kind, field="kind", what="kind of suspension")
    reason = require_reason(reason, "Say why: where the person is, and what is known.")
    clinic = service_user.clinic
    _check_day(starts_on, clinic, now, field="starts_on", what="start date")
    if expected_end_on is not None and expected_end_on < starts_on:
        raise RuleViolation(
            "The expected end is before the start.",
            code="end_before_start",
            field="expected_end_on",
        )
    # docs/domain.md: a suspension excuses only sessions whose window had not closed when
    # it was recorded; a closed window is missed first.
    settle_service_user(service_user.pk, now=now)
    with transaction.atomic():
        person = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        if person.status not in SUSPENDABLE:
            raise Conflict(
                f"{person.display_name} is {person.get_status_display().lower()}: only someone "
                "in treatment can be suspended.",
                code="not_in_treatment",
            )
        suspension = Suspension(
            service_user=person,
            kind=kind,
            starts_on=starts_on,
            expected_end_on=expected_end_on,
            reason=reason,
            status_before=person.status,
            recorded_by=recorded_by,
            recorded_at=now,
        )
        audited(suspension, by=recorded_by)
        suspension.save()
        service_user_transition(
            service_user=person,
            to_status=Status.SUSPENDED,
            changed_by=recorded_by,
            reason=f"{kind.label}: {reason}",
            now=now,
        )
        sessions = DoseSession.objects.filter(service_user=person, clinic_day__gte=starts_on)
        if expected_end_on is not None:
            sessions = sessions.filter(clinic_day__lte=expected_end_on)
        _end_sessions(sessions, reason="suspended", history=f"Excused: {kind.label}", now=now)
    return suspension


def suspension_end(
    *,
    suspension: Suspension,
    returned_on: dt.date,
    ended_by: "User",
    opioid_cover_confirmed: bool = False,
    now: dt.datetime | None = None,
) -> Suspension:
    """The person is back. If the suspension spanned the clinic's re-titration
    threshold of sessions, they need re-titration, unless a prescriber confirms
    opioid cover for the whole time; otherwise they resume where they were."""
    now = now or timezone.now()
    person = suspension.service_user
    clinic = person.clinic
    _check_day(returned_on, clinic, now, field="returned_on", what="return date")
    if returned_on < suspension.starts_on:
        raise RuleViolation(
            "The return is before the suspension started.",
            code="end_before_start",
            field="returned_on",
        )
    if opioid_cover_confirmed and not ended_by.has_perm("dosing.prescribe", clinic):
        raise RuleViolation(
            "Only a prescriber can confirm opioid cover for the whole time.",
            code="cover_needs_prescriber",
            field="opioid_cover_confirmed",
        )
    settle_service_user(person.pk, now=now)
    with transaction.atomic():
        locked = Suspension.objects.select_for_update().get(pk=suspension.pk)
        if locked.ended_at is not None:
            raise Conflict("This suspension has already ended.", code="suspension_ended")
        # Sessions excused ahead for days from the return onwards, not yet open, are
        # scheduled again (their history keeps the excusal).
        ahead = list(
            DoseSession.objects.filter(
                service_user=person,
                clinic_day__gte=returned_on,
                status=SessionStatus.EXCUSED,
                outcome_reason="suspended",
                opens_at__gt=now,
            ).values_list("pk", flat=True)
        )
        # docs/domain.md: the return day's sessions that stay excused count towards the
        # span: back at noon, the morning session was one more away.
        during = (
            DoseSession.objects.filter(
                service_user=person,
                clinic_day__gte=locked.starts_on,
                clinic_day__lte=returned_on,
                status=SessionStatus.EXCUSED,
            )
            .exclude(pk__in=ahead)
            .count()
        )
        if ahead:
            DoseSession.objects.filter(pk__in=ahead).update(
                status=SessionStatus.SCHEDULED, status_changed_at=now, outcome_reason=""
            )
            history_snapshot(
                DoseSession.objects.filter(pk__in=ahead), reason="Back from suspension", when=now
            )
        policy = policy_in_force(clinic=clinic, at=now)
        threshold = policy.retitration_threshold
        needs_retitration = during >= threshold and not opioid_cover_confirmed
        locked.returned_on = returned_on
        locked.opioid_cover_confirmed = opioid_cover_confirmed
        locked.sessions_missed = during
        locked.ended_by = ended_by
        locked.ended_at = now
        audited(locked, by=ended_by)
        locked.save()
        to_status = Status.RETITRATION_REQUIRED if needs_retitration else locked.status_before
        service_user_transition(
            service_user=person,
            to_status=to_status,
            changed_by=ended_by,
            reason=(
                f"Back after {during} sessions away (threshold {threshold}): tolerance may be "
                "lost. No dose until a prescriber issues a re-titration prescription."
                if needs_retitration
                else f"Back after {during} sessions away"
                + (", with opioid cover confirmed" if opioid_cover_confirmed else "")
                + ": resumes."
            ),
            now=now,
        )
        if needs_retitration:
            alert_raise(
                kind=AlertKind.RETITRATION_REQUIRED,
                clinic=clinic,
                service_user=person,
                cause_key=f"suspension:{locked.pk}",
                detail=f"Back from {locked.get_kind_display().lower()} after {during} sessions "
                "away: re-titration required.",
                now=now,
            )
        elif opioid_cover_confirmed:
            # Covered for the whole time: tolerance is counted from the return.
            tolerance_renew(person.pk, since=now, days=policy.retitration_days)
        else:
            # Fewer sessions than the threshold, but the last dose may still be more
            # than the clinic's re-titration days ago (docs/domain.md).
            lapses_apply(now=now, service_users=ServiceUser.objects.filter(pk=person.pk))
    suspension.refresh_from_db()
    return suspension


def service_user_exit(
    *,
    service_user: ServiceUser,
    kind: str,
    detail: str,
    reason: str,
    exited_on: dt.date,
    recorded_by: "User",
    now: dt.datetime | None = None,
) -> Exit:
    """End the treatment episode: its kind and reason are recorded, sessions from the
    exit day are excused, the referral closes and the place is freed (and offered to
    the waiting list)."""
    now = now or timezone.now()
    kind = choice(ExitKind, kind, field="kind", what="kind of exit")
    detail = choice(ExitDetail, detail, field="detail", what="reason for the exit")
    if detail not in EXIT_DETAILS[kind]:
        allowed = ", ".join(d.label.lower() for d in EXIT_DETAILS[kind])
        raise RuleViolation(
            f"{'An' if kind.label[0] in 'AEIOU' else 'A'} {kind.label.lower()} exit is one "
            f"of: {allowed}.",
            code="exit_detail",
            field="detail",
        )
    reason = require_reason(reason, "Say why the person is leaving treatment.")
    clinic = service_user.clinic
    _check_day(exited_on, clinic, now, field="exited_on", what="exit date")
    settle_service_user(service_user.pk, now=now)
    with transaction.atomic():
        person = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        referral = Referral.objects.filter(service_user=person, closed_at__isnull=True).first()
        exit_record = Exit.objects.create(
            service_user=person,
            referral=referral,
            kind=kind,
            detail=detail,
            reason=reason,
            exited_on=exited_on,
            recorded_by=recorded_by,
            recorded_at=now,
        )
        service_user_transition(
            service_user=person,
            to_status=Status.EXITED,
            changed_by=recorded_by,
            reason=f"{kind.label} exit ({detail.label.lower()}): {reason}",
            now=now,
        )
        Suspension.objects.filter(service_user=person, ended_at__isnull=True).update(
            ended_at=now, ended_by=recorded_by, returned_on=exited_on
        )
        _end_sessions(
            DoseSession.objects.filter(service_user=person, clinic_day__gte=exited_on),
            reason="exited",
            history=f"Excused: {kind.label.lower()} exit",
            now=now,
        )
        if referral is not None:
            referral.closed_at = now
            referral.closed_reason = f"Exit: {detail.label}"
            audited(referral, by=recorded_by)
            referral.save(update_fields=["closed_at", "closed_reason"])
        places_changed(clinic)
    return exit_record
