"""Every write about clinics, staff, policy and service users that has a rule in it."""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import Group
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.text import capfirst

from core.audit import audited, history_snapshot
from core.errors import RuleViolation, require_reason

from .models import (
    ALLOWED_TRANSITIONS,
    Clinic,
    ClinicPolicy,
    DoseSlot,
    Flag,
    ServiceUser,
    StaffMembership,
    Status,
    StatusChange,
    default_eligibility_levels,
    default_take_home_levels,
    normalise_nhs_number,
)
from .policy_rules import SlotSpec, check_slots, check_values
from .roles import clinic_roles
from .settling import settle_service_user

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# docs/domain.md: two slots, AM 08:00-11:30 and PM 13:00-17:30, in the clinic's zone.
DEFAULT_SLOTS = (
    SlotSpec("AM", dt.time(8, 0), dt.time(11, 30)),
    SlotSpec("PM", dt.time(13, 0), dt.time(17, 30)),
)

# The policy values a new version may set; any left out are carried over.
POLICY_FIELDS = (
    "min_dose_interval_minutes",
    "observation_minutes",
    "observation_grace_minutes",
    "topup_gap_minutes",
    "missed_warning_threshold",
    "retitration_threshold",
    "retitration_days",
    "max_injection_mg",
    "maintenance_rise_percent",
    "maintenance_rise_days",
    "breath_caution_threshold",
    "breath_withhold_threshold",
    "max_daily_total_mg",
    "capacity",
    "review_interval_days",
    "tox_interval_days",
    "methadone_uncollected_days",
    "eligibility_levels",
    "take_home_levels",
    "take_home_maintenance_weeks",
    "take_home_adherence_percent",
    "take_home_recent_weeks",
    "take_home_tox_screens",
    "take_home_max_per_week",
)
# The policy values that map each criterion to a level, and the levels a clinic starts
# with: a change to some criteria keeps the levels of the others.
LEVEL_FIELDS = {
    "eligibility_levels": default_eligibility_levels,
    "take_home_levels": default_take_home_levels,
}


def _describe(error: ValidationError, model: type[Model]) -> str:
    """One readable sentence per problem, naming the setting it is about."""
    parts: list[str] = []
    for name, messages in error.message_dict.items():
        label = (
            ""
            if name == NON_FIELD_ERRORS
            else f"{capfirst(model._meta.get_field(name).verbose_name)}: "  # type: ignore[union-attr]
        )
        parts.extend(f"{label}{message}" for message in messages)
    return " ".join(parts)


def clinic_create(
    *,
    name: str,
    created_by: "User | None" = None,
    time_zone: str = "Europe/London",
    address: str = "",
    phone: str = "",
    now: dt.datetime | None = None,
    slots: Sequence[SlotSpec] = DEFAULT_SLOTS,
    reason: str = "Opening policy: the standard values",
    **policy_values: Any,
) -> Clinic:
    """A new clinic, with docs/domain.md's default policy (or the values and slots
    given) in force from now."""
    now = now or timezone.now()
    with transaction.atomic():
        clinic = Clinic(name=name.strip(), time_zone=time_zone, address=address, phone=phone)
        audited(clinic, by=created_by, why="Clinic opened")
        clinic.full_clean()
        clinic.save()
        policy_issue(
            clinic=clinic,
            issued_by=created_by,
            effective_from=now,
            reason=reason,
            slots=slots,
            now=now,
            **policy_values,
        )
    return clinic


def staff_member_add(
    *,
    clinic: Clinic,
    user: "User",
    added_by: "User | None" = None,
    roles: Iterable[str] = (),
) -> StaffMembership:
    """Let a member of staff work in (and see the records of) a clinic, holding these
    clinic roles there (core.roles.CLINIC_ROLES) besides any they hold already.
    Idempotent."""
    chosen = clinic_roles(roles)
    membership = StaffMembership(clinic=clinic, user=user)
    audited(membership, by=added_by, why="Added to clinic")
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError:
        # Already a member: the unique constraint decides, even when two adds race.
        membership = StaffMembership.objects.get(clinic=clinic, user=user)
    if chosen:
        audited(membership, by=added_by, why="Roles given")
        membership.roles.add(*Group.objects.filter(name__in=[role.value for role in chosen]))
    return membership


def policy_issue(
    *,
    clinic: Clinic,
    issued_by: "User | None",
    effective_from: dt.datetime,
    reason: str,
    slots: Sequence[SlotSpec] | None = None,
    now: dt.datetime | None = None,
    **values: Any,
) -> ClinicPolicy:
    """A new version of the clinic's policy, in force from ``effective_from``.

    Values not given are carried over from the version in force at that time.
    A version can never start in the past: past records keep the policy they
    were made under.
    """
    now = now or timezone.now()
    reason = require_reason(reason)
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise RuleViolation(
            f"Unknown policy settings: {', '.join(sorted(unknown))}.", code="unknown_policy_field"
        )
    if effective_from < now:
        raise RuleViolation(
            "A policy change cannot start in the past; past records keep the policy they "
            "were made under. Choose a time from now on.",
            code="policy_in_past",
            field="effective_from",
        )
    with transaction.atomic():
        # Lock the clinic so two managers issuing versions at once are serialised.
        Clinic.objects.select_for_update().get(pk=clinic.pk)
        previous = (
            ClinicPolicy.objects.filter(clinic=clinic, effective_from__lte=effective_from)
            .order_by("-effective_from")
            .first()
        )
        carried = {name: getattr(previous, name) for name in POLICY_FIELDS} if previous else {}
        for name, defaults in LEVEL_FIELDS.items():
            if isinstance(values.get(name), dict):
                values = {**values, name: {**carried.get(name, defaults()), **values[name]}}
        carried.update(values)
        if slots is None:
            if previous is None:  # only a clinic's first version: clinic_create gives slots
                raise RuleViolation(
                    "No earlier policy to carry the dose slots from: give the slots.",
                    code="slots_required",
                    field="slots",
                )
            slots = [SlotSpec(s.code, s.opens_at, s.closes_at) for s in previous.slots.all()]
        policy = ClinicPolicy(
            clinic=clinic,
            effective_from=effective_from,
            reason=reason,
            created_by=issued_by,
            **carried,
        )
        # Each value's type and range first; then the rules across values, in words
        # that name the field; the database's constraints last, as a backstop.
        try:
            policy.full_clean(exclude=["clinic", "created_by"], validate_constraints=False)
            check_values({name: getattr(policy, name) for name in POLICY_FIELDS})
            policy.validate_constraints(exclude=["clinic", "created_by"])
        except ValidationError as error:
            fields = [name for name in getattr(error, "error_dict", {}) if name != NON_FIELD_ERRORS]
            raise RuleViolation(
                _describe(error, ClinicPolicy),
                code="policy_invalid",
                field=fields[0] if len(fields) == 1 else None,
            ) from error
        check_slots(slots, min_interval_minutes=policy.min_dose_interval_minutes)
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError as error:
            raise RuleViolation(
                "Another policy version already starts at that exact time.",
                code="policy_version_clash",
                field="effective_from",
            ) from error
        DoseSlot.objects.bulk_create(
            DoseSlot(
                policy=policy,
                code=s.code.strip().upper(),
                opens_at=s.opens_at,
                closes_at=s.closes_at,
            )
            for s in slots
        )
    return policy


def service_user_register(
    *,
    clinic: Clinic,
    registered_by: "User | None",
    nhs_number: str,
    given_name: str,
    family_name: str,
    date_of_birth: dt.date,
    preferred_name: str = "",
    flags: Iterable[str] = (),
    reason: str = "Referral received",
    now: dt.datetime | None = None,
) -> ServiceUser:
    """A new person on the pathway, with status ``referred``."""
    now = now or timezone.now()
    flags = set(flags)
    unknown = flags - set(Flag.values)
    if unknown:
        raise RuleViolation(
            f"Unknown risk flags: {', '.join(sorted(unknown))}.", code="unknown_flag", field="flags"
        )
    service_user = ServiceUser(
        clinic=clinic,
        nhs_number=normalise_nhs_number(nhs_number),
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        preferred_name=preferred_name.strip(),
        date_of_birth=date_of_birth,
        status=Status.REFERRED,
        status_changed_at=now,
        **{f"flag_{flag}": True for flag in flags},
    )
    if date_of_birth and date_of_birth > clinic.clinic_day_of(now):
        raise ValidationError({"date_of_birth": "The date of birth cannot be in the future."})
    service_user.full_clean(validate_unique=False, validate_constraints=False)
    audited(service_user, by=registered_by, why=reason)
    try:
        with transaction.atomic():
            service_user.save()
            StatusChange.objects.create(
                service_user=service_user,
                from_status="",
                to_status=Status.REFERRED,
                changed_at=now,
                changed_by=registered_by,
                reason=reason,
            )
    except IntegrityError as error:
        # The unique constraint, not a prior look-up, decides: two registrations of
        # the same person at the same moment cannot both succeed.
        raise ValidationError(
            {
                "nhs_number": "A service user with this NHS number is already registered "
                "at this clinic. Search for them, or re-refer them if they left treatment."
            }
        ) from error
    return service_user


def service_user_transition(
    *,
    service_user: ServiceUser,
    to_status: str,
    changed_by: "User | None",
    reason: str,
    now: dt.datetime | None = None,
) -> ServiceUser:
    """Move a service user along the pathway, refusing any step docs/domain.md does not allow."""
    now = now or timezone.now()
    reason = require_reason(reason)
    to_status = Status(to_status)
    with transaction.atomic():
        # Lock the row: a missed-dose scan and a prescriber may change the same
        # person's status at once; the second must see the first's result.
        locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        from_status = Status(locked.status)
        allowed = ALLOWED_TRANSITIONS[from_status]
        if to_status not in allowed:
            choices = ", ".join(sorted(Status(s).label for s in allowed))
            raise RuleViolation(
                f"{locked.display_name} cannot move from {from_status.label} to "
                f"{to_status.label}. From {from_status.label} the next step can be: {choices}.",
                code="status_transition_refused",
                field="status",
            )
        locked.status = to_status
        locked.status_changed_at = now
        audited(locked, by=changed_by, why=reason)
        locked.save(update_fields=["status", "status_changed_at"])
        StatusChange.objects.create(
            service_user=locked,
            from_status=from_status,
            to_status=to_status,
            changed_at=now,
            changed_by=changed_by,
            reason=reason,
        )
    service_user.refresh_from_db()
    return service_user


def service_user_walk(
    *,
    service_user: ServiceUser,
    path: Sequence[str],
    changed_by: "User | None",
    reason: str,
    now: dt.datetime | None = None,
) -> ServiceUser:
    """Several allowed steps in a row, each recorded (used by the demo data and tests)."""
    for step in path:
        service_user = service_user_transition(
            service_user=service_user,
            to_status=step,
            changed_by=changed_by,
            reason=reason,
            now=now,
        )
    return service_user


def titration_complete(
    *,
    service_user: ServiceUser,
    prescriber: "User",
    reason: str = "",
    now: dt.datetime | None = None,
) -> ServiceUser:
    """The prescriber judges the dose stable: titration or re-titration ends in maintenance.

    Only from titration or re-titration: a suspended person also may move to
    maintenance, but on return from suspension, not through this decision. The
    person's closed windows are settled first: a lapse since is not marked stable.
    """
    now = now or timezone.now()
    settle_service_user(service_user.pk, now=now)
    with transaction.atomic():
        locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        if locked.status not in (Status.TITRATION, Status.RETITRATION):
            raise RuleViolation(
                f"{locked.display_name} is not in titration "
                f"(status: {locked.get_status_display()}).",
                code="not_in_titration",
            )
        return service_user_transition(
            service_user=locked,
            to_status=Status.MAINTENANCE,
            changed_by=prescriber,
            reason=(reason or "").strip() or "Titration complete: dose stable",
            now=now,
        )


def service_users_transition_many(
    *,
    service_users: QuerySet[ServiceUser],
    to_status: str,
    reason: str,
    now: dt.datetime,
    changed_by: "User | None" = None,
) -> list[int]:
    """Move many service users at once, for a scan: those whose status allows the
    step move, under row locks, with a StatusChange and a history row each, in a
    fixed number of queries. Returns the ids moved."""
    to_status = Status(to_status)
    reason = require_reason(reason)
    allowed_from = [status for status, nexts in ALLOWED_TRANSITIONS.items() if to_status in nexts]
    with transaction.atomic():
        rows = list(
            service_users.filter(status__in=allowed_from)
            .select_for_update()
            .order_by("pk")
            .values_list("pk", "status")
        )
        if not rows:
            return []
        ids = [pk for pk, _ in rows]
        moved = ServiceUser.objects.filter(pk__in=ids)
        moved.update(status=to_status, status_changed_at=now)
        StatusChange.objects.bulk_create(
            StatusChange(
                service_user_id=pk,
                from_status=from_status,
                to_status=to_status,
                changed_at=now,
                changed_by=changed_by,
                reason=reason,
            )
            for pk, from_status in rows
        )
        history_snapshot(moved, reason=reason, when=now, user=changed_by)
    return ids
