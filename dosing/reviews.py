"""The weekly review: the prescriber's decision, and the prescription it issues."""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from core.errors import RuleViolation
from eligibility.models import IN_TREATMENT, ServiceUser, Status
from eligibility.services import service_user_transition

from .mg import format_mg, parse_mg
from .missed import settle_service_user
from .models import (
    Review,
    ReviewDecision,
)
from .prescribing import prescription_issue
from .selectors import prescription_in_force

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .models import Prescription


def review_record(
    *,
    service_user: ServiceUser,
    prescriber: "User",
    decision: str,
    notes: str,
    slot_doses: Mapping[str, Decimal | str] | None = None,
    topup_max_mg: Decimal | str | None = None,
    clinical_reason: str = "",
    now: dt.datetime | None = None,
) -> Review:
    """Record a weekly review and, in the same step, the prescription it decides on.

    Continue issues nothing; increase and reduce issue a new version whose day's
    doses go up or down; re-titrate requires re-titration and issues the
    re-titration prescription when doses are given. All or nothing.
    """
    now = now or timezone.now()
    decision = ReviewDecision(decision)
    notes = (notes or "").strip()
    if not notes:
        raise RuleViolation(
            "Write the review's notes: what was reviewed and why this decision.",
            code="notes_required",
            field="notes",
        )
    slot_doses = {
        code: dose
        for code, dose in (slot_doses or {}).items()
        if str(dose).strip() not in ("", "None")
    }
    settle_service_user(service_user.pk, now=now)
    with transaction.atomic():
        locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        if locked.status not in IN_TREATMENT:
            raise RuleViolation(
                f"{locked.display_name} is not in treatment (status: {locked.get_status_display()})"
                "; only people in treatment are reviewed.",
                code="not_in_treatment",
                field="service_user",
            )
        current = prescription_in_force(service_user=locked, at=now)
        if decision == ReviewDecision.CONTINUE and slot_doses:
            raise RuleViolation(
                "Continue keeps the prescription as it is. To change doses, choose increase, "
                "reduce or re-titrate.",
                code="continue_with_doses",
                field="decision",
            )
        if decision in (ReviewDecision.INCREASE, ReviewDecision.REDUCE):
            _check_direction(decision, slot_doses, current)
        if decision == ReviewDecision.RETITRATE and locked.status != Status.RETITRATION_REQUIRED:
            service_user_transition(
                service_user=locked,
                to_status=Status.RETITRATION_REQUIRED,
                changed_by=prescriber,
                reason=f"Weekly review: re-titrate. {notes}",
                now=now,
            )
        prescription = None
        if slot_doses:
            prescription = prescription_issue(
                service_user=locked,
                prescriber=prescriber,
                slot_doses=slot_doses,
                topup_max_mg=topup_max_mg,
                reason=f"Weekly review ({decision.label}): {notes}",
                clinical_reason=clinical_reason,
                now=now,
            )
        return Review.objects.create(
            service_user=locked,
            reviewed_at=now,
            prescriber=prescriber,
            decision=decision,
            notes=notes,
            prescription=prescription,
        )


def _check_direction(
    decision: ReviewDecision,
    slot_doses: Mapping[str, Decimal | str] | None,
    current: "Prescription | None",
) -> None:
    if not slot_doses:
        raise RuleViolation(
            f"{decision.label} needs the new doses: enter the dose for each slot.",
            code="doses_required",
            field="slot_doses",
        )
    new_total: Decimal = sum(  # type: ignore[assignment]
        parse_mg(dose, field=f"slot_doses.{code}") for code, dose in slot_doses.items()
    )
    old_total: Decimal = (
        sum(d.dose_mg for d in current.slot_doses.all()) if current else Decimal(0)  # type: ignore[assignment]
    )
    if decision == ReviewDecision.INCREASE and new_total <= old_total:
        raise RuleViolation(
            f"An increase must raise the day's doses above {format_mg(old_total)} mg; these add up "
            f"to {format_mg(new_total)} mg.",
            code="increase_not_higher",
            field="slot_doses",
        )
    if decision == ReviewDecision.REDUCE and (current is None or new_total >= old_total):
        raise RuleViolation(
            f"A reduction must lower the day's doses below {format_mg(old_total)} mg; these add up "
            f"to {format_mg(new_total)} mg.",
            code="reduce_not_lower",
            field="slot_doses",
        )
