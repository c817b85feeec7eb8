"""Take-home prescriptions (docs/domain.md, "Take-home doses"): a prescriber writes
the doses a service user may take away, under the clinic's criteria and the same
hard stops as the clinic prescription, which counts them in its daily total."""

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import RuleViolation, choice, require_reason
from eligibility.models import ABSOLUTE_MAX_DAILY_MG, IN_TREATMENT, ServiceUser, Status
from eligibility.selectors import policy_in_force

from .mg import format_mg, parse_mg
from .missed import settle_service_user
from .models import WEEKDAYS, Prescription, TakeHomePrescription, TakeHomeRoute
from .take_home_criteria import CriterionResult, take_home_eligibility
from .versions import create_version, next_version

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from eligibility.models import ClinicPolicy

# Not while the person's tolerance is in doubt, nor while they are away from dosing.
NO_TAKE_HOME = (Status.RETITRATION_REQUIRED, Status.SUSPENDED)
# The longest a version may run: a prescriber reviews every week and re-issues.
MAX_WEEKS = 12


def version_governing(
    versions: Iterable[TakeHomePrescription], day: dt.date
) -> TakeHomePrescription | None:
    """Of a person's versions, newest first, the one that governs a clinic day: the
    latest started by then, if its last day has not passed."""
    latest = next((v for v in versions if v.valid_from <= day), None)
    return latest if latest is not None and latest.valid_to >= day else None


def take_home_in_force(*, service_user: ServiceUser, day: dt.date) -> TakeHomePrescription | None:
    """The version that governs a clinic day. One query, served by
    take_home_in_force_idx."""
    latest = (
        TakeHomePrescription.objects.filter(service_user=service_user, valid_from__lte=day)
        .order_by("-valid_from", "-version")
        .first()
    )
    return version_governing([latest] if latest else [], day)


def take_home_versions(*, service_user: ServiceUser) -> QuerySet[TakeHomePrescription]:
    return (
        TakeHomePrescription.objects.filter(service_user=service_user)
        .select_related("prescriber")
        .order_by("-valid_from", "-version")
    )


def take_home_barrier(service_user: ServiceUser) -> str:
    """Why nobody may prescribe take-home for this person now, whatever is typed: not
    in treatment, needing re-titration or suspended. Empty when they may."""
    if service_user.status in IN_TREATMENT and service_user.status not in NO_TAKE_HOME:
        return ""
    return (
        f"{service_user.display_name} cannot have take-home doses while "
        f"{service_user.get_status_display().lower()}."
    )


def _days(given: Iterable[str]) -> list[str]:
    days = {str(day).strip().lower()[:3] for day in given}
    unknown = sorted(days - set(WEEKDAYS))
    if unknown or not days:
        wrong = f" (not {', '.join(unknown)})" if unknown else ""
        raise RuleViolation(
            "Choose the days the doses are taken at home, from mon, tue, wed, thu, fri, "
            f"sat and sun{wrong}.",
            code="take_home_days_invalid",
            field="weekdays",
        )
    return [day for day in WEEKDAYS if day in days]


def _slots(given: Iterable[str], policy: "ClinicPolicy") -> list[str]:
    known = [slot.code for slot in policy.slots.all()]
    codes = {str(code).strip().upper() for code in given}
    unknown = sorted(codes - set(known))
    if unknown or not codes:
        wrong = f" (it has no {', '.join(unknown)})" if unknown else ""
        raise RuleViolation(
            f"Choose the slots taken at home from the clinic's slots, {', '.join(known)}{wrong}.",
            code="take_home_slots_invalid",
            field="slot_codes",
        )
    return [code for code in known if code in codes]


def _window(valid_from: dt.date, valid_to: dt.date, today: dt.date) -> None:
    if valid_from < today:
        raise RuleViolation(
            f"Take-home cannot start in the past: the first day ({valid_from:%d %b %Y}) is "
            f"before today ({today:%d %b %Y}).",
            code="take_home_in_past",
            field="valid_from",
        )
    if valid_to < valid_from:
        raise RuleViolation(
            f"The last day ({valid_to:%d %b %Y}) is before the first ({valid_from:%d %b %Y}).",
            code="take_home_ends_before_it_starts",
            field="valid_to",
        )
    if valid_to - valid_from >= dt.timedelta(weeks=MAX_WEEKS):
        raise RuleViolation(
            f"A take-home prescription runs for at most {MAX_WEEKS} weeks; end it by "
            f"{valid_from + dt.timedelta(weeks=MAX_WEEKS, days=-1):%d %b %Y} and review it "
            "before writing the next.",
            code="take_home_too_long",
            field="valid_to",
        )


class ClinicDay(NamedTuple):
    """What a clinic prescription version gives in a day: its dose per slot, its top-up
    allowance and its maximum daily total."""

    label: str
    doses: Mapping[str, Decimal]
    topup: Decimal | None
    max_daily_total_mg: Decimal

    @classmethod
    def of(cls, prescription: Prescription) -> "ClinicDay":
        return cls(
            f"version {prescription.version}",
            {d.slot_code: d.dose_mg for d in prescription.slot_doses.all()},
            prescription.topup_max_mg,
            prescription.max_daily_total_mg,
        )


def day_total(clinic: ClinicDay, take_home: TakeHomePrescription) -> Decimal:
    """A take-home day's most: the clinic doses of the slots taken in the clinic, each
    with its top-up allowance, and the take-home dose of each slot taken at home."""
    topup = clinic.topup or Decimal(0)
    at_clinic = sum(
        (dose + topup for code, dose in clinic.doses.items() if code not in take_home.slot_codes),
        Decimal(0),
    )
    return at_clinic + take_home.dose_mg * len(take_home.slot_codes)


def check_day_total(
    clinic: ClinicDay, take_home: TakeHomePrescription, policy: "ClinicPolicy", *, field: str
) -> None:
    """The daily ceiling counts clinic and take-home doses together: the clinic's
    ceiling (never above 1,000 mg), and the clinic prescription's maximum daily total."""
    total = day_total(clinic, take_home)
    ceiling = min(ABSOLUTE_MAX_DAILY_MG, policy.max_daily_total_mg)
    words = (
        f"The clinic doses of the prescription's {clinic.label} and the take-home doses of "
        f"take-home version {take_home.version} add up to {format_mg(total)} mg on a "
        "take-home day"
    )
    if total > ceiling:
        raise RuleViolation(
            f"{words}, above the clinic's daily ceiling of {format_mg(ceiling)} mg.",
            code="daily_total_above_ceiling",
            field=field,
        )
    if total > clinic.max_daily_total_mg:
        raise RuleViolation(
            f"{words}, more than the maximum daily total of "
            f"{format_mg(clinic.max_daily_total_mg)} mg. Raise the maximum, or prescribe less.",
            code="take_home_above_daily_total",
            field=field,
        )


def clinic_versions_over(
    service_user: ServiceUser, start: dt.datetime, end: dt.datetime
) -> list[Prescription]:
    """The clinic prescription versions that govern any part of [start, end]: the one
    in force at start, and those starting before end. Cancelled ones never do."""
    versions = service_user.prescriptions.filter(cancellation__isnull=True).prefetch_related(
        "slot_doses"
    )
    first = versions.filter(valid_from__lte=start).order_by("-valid_from", "-version").first()
    later = versions.filter(valid_from__gt=start, valid_from__lte=end).order_by("valid_from")
    started = (
        [first] if first is not None and (first.valid_to is None or first.valid_to > start) else []
    )
    return started + list(later)


def _unmet(criteria: Iterable[CriterionResult]) -> str:
    return "; ".join(f"{c.asks[0].lower()}{c.asks[1:]} is not met: {c.evidence}" for c in criteria)


def take_home_prescribe(
    *,
    service_user: ServiceUser,
    prescriber: "User",
    route: str,
    dose_mg: object,
    slot_codes: Iterable[str],
    weekdays: Iterable[str],
    valid_from: dt.date,
    valid_to: dt.date,
    reason: str,
    criteria_reason: str = "",
    now: dt.datetime | None = None,
) -> TakeHomePrescription:
    """The next version of a service user's take-home prescription.

    Refused, by name: a criterion the clinic requires that is not met, or an advisory
    one with no written reason; a dose above the clinic's ceiling per injection; a
    take-home day whose clinic and take-home doses add up above the daily ceiling or
    the clinic prescription's maximum daily total; more doses a week than the clinic
    allows (under the weekly maximum's level); a start in the past; and anyone not in
    treatment, needing re-titration or suspended."""
    now = now or timezone.now()
    reason = require_reason(reason, "Give the reason for take-home doses.")
    route = choice(TakeHomeRoute, route, field="route", what="route")
    dose = parse_mg(dose_mg, field="dose_mg")
    days = _days(weekdays)
    zone = service_user.clinic.zone
    _window(valid_from, valid_to, service_user.clinic.clinic_day_of(now))
    start = max(now, dt.datetime.combine(valid_from, dt.time(), tzinfo=zone))
    end = dt.datetime.combine(valid_to + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    settle_service_user(service_user.pk, now=now)  # the status after any missed sessions
    with transaction.atomic():
        # Lock the person: the version number, the status and the criteria read must
        # not interleave with another prescriber, a lapse or the missed-dose scan.
        locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        if barrier := take_home_barrier(locked):
            raise RuleViolation(barrier, code="take_home_not_allowed_now", field="service_user")
        policy = policy_in_force(clinic=locked.clinic, at=start)
        slots = _slots(slot_codes, policy)
        if dose > policy.max_injection_mg:
            raise RuleViolation(
                f"A take-home dose of {format_mg(dose)} mg is above the clinic's ceiling per "
                f"dose; the most allowed is {format_mg(policy.max_injection_mg)} mg.",
                code="injection_above_ceiling",
                field="dose_mg",
            )
        answer = take_home_eligibility(
            service_user=locked, at=now, doses_per_week=len(slots) * len(days)
        )
        if answer.blocking:
            raise RuleViolation(
                f"Take-home is not allowed: {_unmet(answer.blocking)}.",
                code="take_home_criteria_unmet",
                field="weekdays" if answer.blocking[0].code == "weekly_maximum" else None,
            )
        criteria_reason = (criteria_reason or "").strip()
        if answer.needing_reason and not criteria_reason:
            raise RuleViolation(
                f"Write the reason to prescribe although {_unmet(answer.needing_reason)}.",
                code="criteria_reason_required",
                field="criteria_reason",
            )
        clinic = clinic_versions_over(locked, start, end)
        if not clinic:
            raise RuleViolation(
                f"{locked.display_name} has no clinic prescription in force from "
                f"{valid_from:%d %b %Y}: take-home doses are part of it. Prescribe that first.",
                code="no_prescription",
                field="service_user",
            )
        fields = {
            "service_user": locked,
            "version": next_version(TakeHomePrescription.objects.filter(service_user=locked)),
            "route": route,
            "dose_mg": dose,
            "slot_codes": slots,
            "weekdays": days,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "prescriber": prescriber,
            "reason": reason,
            "policy": answer.policy,
            "criteria": [
                {"code": c.code, "level": c.level, "met": c.met, "evidence": c.evidence}
                for c in answer.criteria
            ],
            "criteria_reason": criteria_reason,
            "issued_at": now,
        }
        for version_in_force in clinic:
            check_day_total(
                ClinicDay.of(version_in_force),
                TakeHomePrescription(**fields),
                policy,
                field="dose_mg",
            )
        return create_version(TakeHomePrescription, **fields)


def check_clinic_version_with_take_home(
    *,
    service_user: ServiceUser,
    clinic: ClinicDay,
    start: dt.datetime,
    end: dt.datetime | None,
    policy: "ClinicPolicy",
) -> None:
    """A new clinic prescription version keeps the daily ceiling with every take-home
    version that governs a day while it is in force: the one in force on its first
    day, and those starting later (before it ends)."""
    day = service_user.clinic.clinic_day_of(start)
    later = Q(valid_from__gt=day)
    if end is not None:
        later &= Q(valid_from__lte=service_user.clinic.clinic_day_of(end))
    governing = [take_home_in_force(service_user=service_user, day=day)]
    governing += TakeHomePrescription.objects.filter(service_user=service_user).filter(later)
    for take_home in governing:
        if take_home is not None:
            check_day_total(clinic, take_home, policy, field="slot_doses")
