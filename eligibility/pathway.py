"""The pathway before treatment (docs/domain.md, "The pathway", "Eligibility"):
referral, eligibility assessment, the prescriber's decision, the waiting list and
admission. Capacity is checked under a lock on the clinic's row, so two
admissions at the same moment cannot both take the last place."""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import django.dispatch
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.audit import audited
from core.errors import Conflict, RuleViolation, choice, day_not_in_future, require_reason
from core.roles import staff_name

from .models import (
    IN_TREATMENT,
    Clinic,
    Criterion,
    CriterionAnswer,
    EligibilityAssessment,
    Flag,
    Level,
    Referral,
    ReferralDecision,
    ServiceUser,
    Status,
    TreatmentAgreement,
)
from .selectors import clinic_staff, policy_in_force
from .services import service_user_register, service_user_transition

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Sent (after commit) when a place may have come free, so that the next person on
# the waiting list is offered it. The monitoring app listens: it raises the alert.
places_may_have_freed = django.dispatch.Signal()


# Sent inside the admission's transaction, so that what another app closes because of
# it commits or rolls back with the admission. The monitoring app listens: it closes
# the "place offered" alert.
service_user_admitted = django.dispatch.Signal()

# Sent inside a referral's transaction, new person or re-referral. The monitoring app
# listens: it raises the "possible duplicate registration" alerts when the NHS number
# is on the pathway at another clinic too.
service_user_referred = django.dispatch.Signal()


def places_changed(clinic: Clinic) -> None:
    transaction.on_commit(
        lambda: places_may_have_freed.send(sender=Clinic, clinic_id=clinic.pk), robust=True
    )


def referral_record(
    *,
    clinic: Clinic,
    recorded_by: "User",
    referred_by: str,
    referral_date: dt.date,
    substance_use_history: str,
    treatment_history: str,
    risk_flags: Iterable[str] = (),
    risk_notes: str = "",
    service_user: ServiceUser | None = None,
    person: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """Record a referral: of a new person (person = NHS number, names, date of
    birth) or a re-referral of someone who left or was declined, whose history
    stays with them. Risk flags are added to the person's."""
    now = now or timezone.now()
    referred_by = require_reason(referred_by, "Say who referred: a person and their service.")
    substance_use_history = (substance_use_history or "").strip()
    treatment_history = (treatment_history or "").strip()
    if not substance_use_history:
        raise RuleViolation(
            "Describe the substance use history.", code="required", field="substance_use_history"
        )
    if not treatment_history:
        raise RuleViolation(
            "Describe earlier treatment attempts (or say there were none).",
            code="required",
            field="treatment_history",
        )
    day_not_in_future(referral_date, clinic, now, field="referral_date", what="referral date")
    flags = set(risk_flags)
    unknown = flags - set(Flag.values)
    if unknown:
        raise RuleViolation(
            f"Unknown risk flags: {', '.join(sorted(unknown))}.", code="unknown_flag", field="flags"
        )
    with transaction.atomic():
        if service_user is None:
            service_user = service_user_register(
                clinic=clinic,
                registered_by=recorded_by,
                flags=flags,
                reason=f"Referred by {referred_by}",
                now=now,
                **(person or {}),
            )
        else:
            locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
            if locked.clinic_id != clinic.pk:
                raise RuleViolation(
                    f"{locked.display_name} is registered at another clinic.",
                    code="other_clinic",
                )
            if locked.status not in (Status.EXITED, Status.DECLINED):
                raise Conflict(
                    f"{locked.display_name} is already on the pathway "
                    f"({locked.get_status_display().lower()}): no new referral is needed.",
                    code="already_referred",
                )
            service_user = service_user_transition(
                service_user=locked,
                to_status=Status.REFERRED,
                changed_by=recorded_by,
                reason=f"Re-referred by {referred_by}",
                now=now,
            )
            if flags:
                for flag in flags:
                    setattr(service_user, f"flag_{flag}", True)
                audited(service_user, by=recorded_by, why="Risk flags from the referral")
                service_user.save(update_fields=[f"flag_{flag}" for flag in flags])
        referral = Referral(
            service_user=service_user,
            clinic=clinic,
            referred_by=referred_by,
            referral_date=referral_date,
            substance_use_history=substance_use_history,
            treatment_history=treatment_history,
            risk_notes=(risk_notes or "").strip(),
            recorded_by=recorded_by,
            recorded_at=now,
        )
        audited(referral, by=recorded_by)
        referral.save()
        service_user_referred.send(sender=Referral, referral=referral, now=now)
    return referral


def _open_referral(service_user: ServiceUser) -> Referral:
    referral = (
        Referral.objects.select_for_update()
        .filter(service_user=service_user, closed_at__isnull=True)
        .first()
    )
    if referral is None:
        raise RuleViolation(
            f"{service_user.display_name} has no open referral. Record a referral first.",
            code="no_open_referral",
        )
    return referral


def eligibility_assess(
    *,
    referral: Referral,
    assessed_by: "User",
    answers: Mapping[str, tuple[bool, str]],
    notes: str = "",
    now: dt.datetime | None = None,
) -> EligibilityAssessment:
    """Answer the checklist of the policy in force: for each criterion not off,
    met or not and the evidence. Age is checked against the date of birth."""
    now = now or timezone.now()
    policy = policy_in_force(clinic=referral.clinic, at=now)
    levels = {code: Level(level) for code, level in policy.eligibility_levels.items()}
    asked = [c for c in Criterion if levels.get(c.value, Level.REQUIRED) != Level.OFF]
    unknown = sorted(set(answers) - set(Criterion.values))
    if unknown:
        raise RuleViolation(
            f"Not on the checklist: {', '.join(unknown)}.",
            code="unknown_criterion",
            field="answers",
        )
    # A refusal names the first answer at fault, as answers.<criterion>.<met|evidence>.
    missing = [c for c in asked if c.value not in answers]
    if missing:
        raise RuleViolation(
            "Answer every criterion on the clinic's checklist. Missing: "
            f"{'; '.join(c.label for c in missing)}.",
            code="answers_missing",
            field=f"answers.{missing[0].value}.met",
        )
    no_evidence = [c for c in asked if not (answers[c.value][1] or "").strip()]
    if no_evidence:
        raise RuleViolation(
            "Give the evidence for each answer. None for: "
            f"{'; '.join(c.label for c in no_evidence)}.",
            code="evidence_missing",
            field=f"answers.{no_evidence[0].value}.evidence",
        )
    person = referral.service_user
    if Criterion.ADULT in asked:
        today = referral.clinic.clinic_day_of(now)
        born = person.date_of_birth
        adult = (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) >= 18
        if answers[Criterion.ADULT][0] != adult:
            raise RuleViolation(
                f"The date of birth ({born:%d %b %Y}) says {person.display_name} is "
                f"{'' if adult else 'not '}18 or over; the answer must agree.",
                code="age_contradicts_date_of_birth",
                field=f"answers.{Criterion.ADULT.value}.met",
            )
    with transaction.atomic():
        referral = _lock_referral(referral)
        if referral.decision:
            raise Conflict(
                f"This referral was already {referral.get_decision_display().lower()}.",
                code="referral_decided",
            )
        assessment = EligibilityAssessment.objects.create(
            referral=referral,
            policy=policy,
            notes=(notes or "").strip(),
            assessed_by=assessed_by,
            assessed_at=now,
        )
        CriterionAnswer.objects.bulk_create(
            CriterionAnswer(
                assessment=assessment,
                criterion=c.value,
                level=levels.get(c.value, Level.REQUIRED),
                met=bool(answers[c.value][0]),
                evidence=answers[c.value][1].strip(),
            )
            for c in asked
        )
        if person.status == Status.REFERRED:
            service_user_transition(
                service_user=person,
                to_status=Status.ASSESSING,
                changed_by=assessed_by,
                reason="Eligibility assessment",
                now=now,
            )
    return assessment


def _lock_referral(referral: Referral) -> Referral:
    locked = Referral.objects.select_for_update().select_related("service_user").get(pk=referral.pk)
    if locked.closed_at is not None:
        raise Conflict("This referral is closed.", code="referral_closed")
    return locked


def referral_decide(
    *,
    referral: Referral,
    prescriber: "User",
    decision: str,
    reason: str,
    advisory_reason: str = "",
    priority: int | None = None,
    now: dt.datetime | None = None,
) -> Referral:
    """The prescriber accepts or declines, with a reason. An unmet required criterion
    blocks acceptance; an unmet advisory one needs a written reason to accept. An
    accepted person joins the waiting list until admitted."""
    now = now or timezone.now()
    decision = choice(ReferralDecision, decision, field="decision")
    reason = require_reason(reason, "Give the reason for the decision: it is kept on record.")
    with transaction.atomic():
        referral = _lock_referral(referral)
        if referral.decision:
            raise Conflict(
                f"This referral was already {referral.get_decision_display().lower()} by "
                f"{staff_name(referral.decided_by)}.",  # type: ignore[arg-type]
                code="referral_decided",
            )
        assessment = referral.assessments.order_by("-assessed_at", "-pk").first()
        if assessment is None:
            raise RuleViolation(
                "Record the eligibility assessment before deciding.",
                code="assessment_missing",
            )
        unmet = [a for a in assessment.answers.all() if not a.met]
        advisory_reason = (advisory_reason or "").strip()
        if decision == ReferralDecision.ACCEPTED:
            required = [a.get_criterion_display() for a in unmet if a.level == Level.REQUIRED]
            if required:
                raise RuleViolation(
                    f"Cannot accept: required criteria not met: {'; '.join(required)}.",
                    code="required_criterion_unmet",
                    field="decision",
                )
            advisory = [a.get_criterion_display() for a in unmet if a.level == Level.ADVISORY]
            if advisory and not advisory_reason:
                raise RuleViolation(
                    f"Advisory criteria not met: {'; '.join(advisory)}. Write why you accept "
                    "all the same.",
                    code="advisory_reason_required",
                    field="advisory_reason",
                )
            priority = priority or 2
            if priority not in (1, 2, 3):
                raise RuleViolation(
                    "Priority is 1 (most urgent), 2 or 3.",
                    code="priority_invalid",
                    field="priority",
                )
        referral.decision = decision
        referral.decision_reason = reason
        referral.advisory_reason = advisory_reason if decision == ReferralDecision.ACCEPTED else ""
        referral.decided_by = prescriber
        referral.decided_at = now
        referral.priority = priority if decision == ReferralDecision.ACCEPTED else None
        if decision == ReferralDecision.DECLINED:
            referral.closed_at = now
            referral.closed_reason = "Declined"
        audited(referral, by=prescriber, why=f"{decision.label}: {reason}")
        referral.save()
        service_user_transition(
            service_user=referral.service_user,
            to_status=Status.WAITING if decision == ReferralDecision.ACCEPTED else Status.DECLINED,
            changed_by=prescriber,
            reason=f"{decision.label}: {reason}",
            now=now,
        )
        if decision == ReferralDecision.ACCEPTED:
            places_changed(referral.clinic)
    return referral


# On the waiting list: accepted, not yet admitted, not closed.
WAITING = Q(decision=ReferralDecision.ACCEPTED, admitted_at__isnull=True, closed_at__isnull=True)
# Its order: by priority, then the date accepted.
WAITING_ORDER = ("priority", "decided_at", "pk")


def free_places(*, capacity: int, taken: int, offered: int) -> int:
    """Places neither taken (everyone in treatment, suspended included) nor held by
    an outstanding offer."""
    return max(capacity - taken - offered, 0)


def waiting_list(*, clinic: Clinic) -> QuerySet[Referral]:
    """Accepted, not yet admitted: by priority, then the date accepted."""
    return (
        Referral.objects.filter(WAITING, clinic=clinic)
        .select_related("service_user")
        .order_by(*WAITING_ORDER)
    )


def places(*, clinic: Clinic, now: dt.datetime | None = None) -> dict[str, int]:
    """Capacity, places taken (everyone in treatment, suspended included), places held
    by an outstanding offer, and places free."""
    capacity = policy_in_force(clinic=clinic, at=now).capacity
    taken = ServiceUser.objects.filter(clinic=clinic, status__in=IN_TREATMENT).count()
    offered = waiting_list(clinic=clinic).filter(offered_at__isnull=False).count()
    return {
        "capacity": capacity,
        "taken": taken,
        "offered": offered,
        "free": free_places(capacity=capacity, taken=taken, offered=offered),
    }


def service_user_admit(
    *,
    service_user: ServiceUser,
    admitted_by: "User",
    agreement_signed_on: dt.date,
    witness: "User",
    now: dt.datetime | None = None,
) -> Referral:
    """Admit an accepted person to treatment: the signed treatment agreement (date and
    a staff witness), then titration. Refused when the clinic is full. A place held
    by an offer to someone else is not free; the offer's holder may take it."""
    now = now or timezone.now()
    clinic = service_user.clinic
    day_not_in_future(
        agreement_signed_on, clinic, now, field="agreement_signed_on", what="agreement's date"
    )
    if not clinic_staff(clinic).filter(pk=witness.pk).exists():
        raise RuleViolation(
            "The witness must be a member of the clinic's staff.",
            code="witness_not_staff",
            field="witness",
        )
    with transaction.atomic():
        # The clinic's row is the lock: admissions to one clinic are serialised, so
        # two at once cannot both take the last place.
        Clinic.objects.select_for_update().get(pk=clinic.pk)
        referral = _open_referral(service_user)
        if referral.decision != ReferralDecision.ACCEPTED or referral.admitted_at is not None:
            raise Conflict(
                f"{service_user.display_name} is not waiting for a place "
                f"({service_user.get_status_display().lower()}).",
                code="not_waiting",
            )
        count = places(clinic=clinic, now=now)
        held_by_others = count["offered"] - (1 if referral.offered_at else 0)
        if count["taken"] + held_by_others >= count["capacity"]:
            position = list(waiting_list(clinic=clinic).values_list("pk", flat=True)).index(
                referral.pk
            )
            raise RuleViolation(
                f"The clinic is full: {count['taken']} of {count['capacity']} places taken"
                + (f" and {held_by_others} offered to others" if held_by_others else "")
                + f". {service_user.display_name} stays on the waiting list "
                f"(number {position + 1}).",
                code="clinic_full",
            )
        TreatmentAgreement.objects.create(
            referral=referral,
            signed_on=agreement_signed_on,
            witness=witness,
            recorded_by=admitted_by,
            recorded_at=now,
        )
        referral.admitted_at = now
        audited(referral, by=admitted_by, why="Admitted")
        referral.save(update_fields=["admitted_at"])
        service_user_transition(
            service_user=service_user,
            to_status=Status.TITRATION,
            changed_by=admitted_by,
            reason="Admitted: treatment agreement signed",
            now=now,
        )
        service_user_admitted.send(
            sender=Referral, referral=referral, admitted_by=admitted_by, now=now
        )
    return referral


def waiting_offers_make(*, clinic: Clinic, now: dt.datetime | None = None) -> list[Referral]:
    """Offer each free place to the next person on the waiting list without one.
    Idempotent: a place already offered is not free. Returns the new offers."""
    now = now or timezone.now()
    with transaction.atomic():
        Clinic.objects.select_for_update().get(pk=clinic.pk)
        free = places(clinic=clinic, now=now)["free"]
        if not free:
            return []
        chosen = list(
            waiting_list(clinic=clinic)
            .filter(offered_at__isnull=True)
            .values_list("pk", flat=True)[:free]
        )
        Referral.objects.filter(pk__in=chosen, offered_at__isnull=True).update(offered_at=now)
        return list(Referral.objects.filter(pk__in=chosen).select_related("service_user"))
