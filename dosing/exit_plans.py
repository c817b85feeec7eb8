"""Exit plans: reducing schedules and service closure.

A plan's versions are ordinary prescription versions issued through
prescription_issue, so every hard stop applies to them too.
"""

import datetime as dt
import math
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.audit import audited
from core.errors import Conflict, RuleViolation, require_reason
from eligibility.models import IN_TREATMENT, ServiceUser

from .models import (
    Prescription,
    PrescriptionCancellation,
    Purpose,
    ReducingPlan,
    ServiceClosure,
)
from .prescribing import prescription_issue
from .selectors import prescription_in_force

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from eligibility.models import Clinic

WEEK = dt.timedelta(weeks=1)
MAX_STEPS = 104  # two years of weekly versions
PROMISED_NOTICE = relativedelta(months=6)


def reducing_plan_create(
    *,
    service_user: ServiceUser,
    created_by: "User",
    weekly_reduction_percent: Decimal | str | int,
    starts_at: dt.datetime,
    reason: str,
    switch_at: dt.datetime | None = None,
    activate: bool = True,
    closure: ServiceClosure | None = None,
    now: dt.datetime | None = None,
) -> ReducingPlan:
    """A reducing schedule; activated at once unless it is a draft for review."""
    now = now or timezone.now()
    reason = require_reason(reason, "Give a reason for this exit plan.")
    percent = Decimal(str(weekly_reduction_percent))
    if not (Decimal(0) < percent <= Decimal(100)):
        raise RuleViolation(
            "The weekly reduction is a percentage above 0 and at most 100.",
            code="reduction_percent_range",
            field="weekly_reduction_percent",
        )
    if starts_at < now:
        raise RuleViolation(
            "A plan cannot start in the past.", code="plan_in_past", field="starts_at"
        )
    if starts_at > now + MAX_STEPS * WEEK:
        raise RuleViolation(
            f"A plan starts within {MAX_STEPS} weeks; make it nearer the time.",
            code="plan_too_far",
            field="starts_at",
        )
    if switch_at is not None and switch_at <= starts_at:
        raise RuleViolation(
            "The switch date must come after the plan starts.",
            code="switch_before_start",
            field="switch_at",
        )
    with transaction.atomic():
        plan = ReducingPlan(
            service_user=service_user,
            weekly_reduction_percent=percent,
            starts_at=starts_at,
            switch_at=switch_at,
            reason=reason,
            created_by=created_by,
            created_at=now,
            closure=closure,
        )
        audited(plan, by=created_by, why=reason)
        plan.save()
        if activate:
            reducing_plan_activate(plan=plan, prescriber=created_by, now=now)
            plan.refresh_from_db()
    return plan


def reduction_steps(
    plan: ReducingPlan, base: Prescription
) -> list[tuple[dt.datetime, dict[str, Decimal]]]:
    """Each week's start and doses: the starting dose less k times the weekly share,
    rounded down to 0.01 mg, until a dose would reach zero or the switch date comes."""
    share = plan.weekly_reduction_percent / Decimal(100)
    base_doses = {d.slot_code: d.dose_mg for d in base.slot_doses.all()}
    steps: list[tuple[dt.datetime, dict[str, Decimal]]] = []
    for k in range(MAX_STEPS + 1):
        starts = plan.starts_at + k * WEEK
        if plan.switch_at is not None and starts >= plan.switch_at:
            return steps
        factor = 1 - (k + 1) * share
        doses = {
            code: (dose * factor).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            for code, dose in base_doses.items()
        }
        if any(dose <= 0 for dose in doses.values()):
            return steps
        steps.append((starts, doses))
    raise RuleViolation(
        f"This plan would need more than {MAX_STEPS} weekly versions. Choose a larger weekly "
        "reduction or an earlier switch date.",
        code="plan_too_long",
        field="weekly_reduction_percent",
    )


def reducing_plan_activate(
    *, plan: ReducingPlan, prescriber: "User", now: dt.datetime | None = None
) -> list[Prescription]:
    """Issue the plan's future versions, all or none. The last one ends the prescription:
    at the switch date, or a week after the last reduced dose when reducing to zero."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = ReducingPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.state != ReducingPlan.State.DRAFT:
            raise Conflict(
                f"This plan is already {locked.get_state_display().lower()}.", code="plan_not_draft"
            )
        if locked.starts_at < now:
            raise RuleViolation(
                "This draft's start has passed. Create a new plan.",
                code="plan_in_past",
                field="starts_at",
            )
        base = prescription_in_force(service_user=locked.service_user, at=locked.starts_at)
        if base is None:
            raise RuleViolation(
                "There is no prescription in force to reduce.", code="nothing_to_reduce"
            )
        steps = reduction_steps(locked, base)
        if not steps:
            raise RuleViolation(
                "This plan produces no reduced dose before it ends.", code="plan_empty"
            )
        versions = []
        for index, (starts, doses) in enumerate(steps):
            last = index == len(steps) - 1
            ends = (locked.switch_at or starts + WEEK) if last else None
            versions.append(
                prescription_issue(
                    service_user=locked.service_user,
                    prescriber=prescriber,
                    slot_doses=doses,
                    route_iv=base.route_iv,
                    route_im=base.route_im,
                    valid_from=starts,
                    valid_to=ends,
                    purpose=Purpose.REDUCTION,
                    plan=locked,
                    now=now,
                    reason=f"Exit plan: -{locked.weekly_reduction_percent:f}% a week, "
                    f"week {index + 1} of {len(steps)}. {locked.reason}",
                )
            )
        locked.state = ReducingPlan.State.ACTIVE
        locked.activated_by = prescriber
        locked.activated_at = now
        audited(locked, by=prescriber, why="Activated")
        locked.save()
    return versions


def reducing_plan_cancel(
    *, plan: ReducingPlan, cancelled_by: "User", reason: str, now: dt.datetime | None = None
) -> int:
    """Stop a plan: its versions not yet started are cancelled; the rest stay on record."""
    now = now or timezone.now()
    reason = require_reason(reason, "Give a reason for stopping this plan.")
    with transaction.atomic():
        locked = ReducingPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.state == ReducingPlan.State.CANCELLED:
            raise Conflict("This plan is already cancelled.", code="plan_cancelled")
        future = locked.versions.filter(valid_from__gt=now, cancellation__isnull=True)
        PrescriptionCancellation.objects.bulk_create(
            PrescriptionCancellation(
                prescription=version, cancelled_by=cancelled_by, cancelled_at=now, reason=reason
            )
            for version in future
        )
        locked.state = ReducingPlan.State.CANCELLED
        audited(locked, by=cancelled_by, why=reason)
        locked.save()
    return len(future)


def service_closure_record(
    *,
    clinic: "Clinic",
    closes_on: dt.date,
    recorded_by: "User",
    reason: str,
    now: dt.datetime | None = None,
) -> ServiceClosure:
    """Record the closure date and draft a reducing plan for everyone in treatment.

    Each draft reaches the date in even weekly steps; a prescriber reviews and
    activates it. Notice under six months is flagged, since service users were
    promised six months.
    """
    now = now or timezone.now()
    reason = require_reason(reason, "Give a reason for the closure.")
    today = clinic.clinic_day_of(now)
    if closes_on <= today:
        raise RuleViolation(
            "The closure date must be in the future.", code="closure_in_past", field="closes_on"
        )
    # Each draft reaches the date in at most MAX_STEPS weekly versions.
    if closes_on > today + MAX_STEPS * WEEK:
        raise RuleViolation(
            f"The closure date must be within {MAX_STEPS} weeks: each service user's exit "
            "plan reaches it in weekly steps. Record it nearer the time.",
            code="closure_too_far",
            field="closes_on",
        )
    switch_at = dt.datetime.combine(closes_on, dt.time(0, 0), tzinfo=clinic.zone)
    starts_at = min(now + WEEK, switch_at - dt.timedelta(hours=1))
    steps = max(1, math.ceil((switch_at - starts_at) / WEEK))
    percent = (Decimal(100) / (steps + 1)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    with transaction.atomic():
        closure = ServiceClosure.objects.create(
            clinic=clinic,
            closes_on=closes_on,
            recorded_by=recorded_by,
            recorded_at=now,
            reason=reason,
            short_notice=closes_on < today + PROMISED_NOTICE,
        )
        people = ServiceUser.objects.filter(clinic=clinic, status__in=IN_TREATMENT)
        bulk_create_with_history(
            [
                ReducingPlan(
                    service_user=person,
                    weekly_reduction_percent=percent,
                    starts_at=starts_at,
                    switch_at=switch_at,
                    closure=closure,
                    created_by=recorded_by,
                    created_at=now,
                    reason=f"Service closure on {closes_on:%d %b %Y}: {reason}",
                )
                for person in people
            ],
            ReducingPlan,
            default_user=recorded_by,
            default_change_reason="Drafted for the service closure",
        )
    return closure
