"""Prescribing: issuing and cancelling diamorphine versions, methadone, pharmacies.
Every write here checks the product's hard stops first."""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audited
from core.errors import Conflict, RuleViolation, require_reason
from eligibility.models import ServiceUser, Status
from eligibility.selectors import policy_in_force
from eligibility.services import service_user_transition

from . import prescription_limits as limits
from .mg import parse_mg
from .missed import settle_service_user, tolerance_renew
from .models import (
    MethadonePrescription,
    Pharmacy,
    Prescription,
    PrescriptionCancellation,
    PrescriptionSlotDose,
    Purpose,
    ReducingPlan,
)
from .selectors import last_administered_session_dose, latest_prescription
from .take_home import ClinicDay, check_clinic_version_with_take_home
from .versions import create_version, next_version

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from eligibility.models import Clinic


# Statuses in which a prescription may be issued, and the purpose it then has.
PRESCRIBABLE = {
    Status.TITRATION: Purpose.TITRATION,
    Status.MAINTENANCE: Purpose.MAINTENANCE,
    Status.RETITRATION_REQUIRED: Purpose.RETITRATION,
    Status.RETITRATION: Purpose.RETITRATION,
    Status.SUSPENDED: Purpose.MAINTENANCE,
}
RISING_PURPOSES = {Purpose.INDUCTION, Purpose.TITRATION, Purpose.RETITRATION}


def prescription_issue(
    *,
    service_user: ServiceUser,
    prescriber: "User",
    slot_doses: Mapping[str, Decimal | str],
    reason: str,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    route_iv: bool = True,
    route_im: bool = False,
    topup_max_mg: Decimal | str | None = None,
    max_daily_total_mg: Decimal | str | None = None,
    documented_transfer: bool = False,
    transfer_service: str = "",
    transfer_last_dose_mg: Decimal | str | None = None,
    transfer_last_dose_on: dt.date | None = None,
    transfer_confirmed_by: str = "",
    purpose: Purpose | None = None,
    plan: ReducingPlan | None = None,
    clinical_reason: str = "",
    now: dt.datetime | None = None,
) -> Prescription:
    """Issue the next version of a service user's diamorphine prescription.

    Refuses, naming the limit and the allowed maximum: a dose of 0 mg or less, a
    validity window that ends before it starts, a daily total above 1,000 mg or
    the clinic's ceiling, a dose above the clinic's ceiling per injection, a new
    starter's dose above 15 mg, and during titration or re-titration a session dose
    more than 50% above the previous one. Issuing for someone who needs
    re-titration starts the re-titration: that first version may not exceed the dose
    before the lapse, and above half of it needs a written clinical reason. In
    maintenance, a rise above the clinic's step needs one too (docs/domain.md).
    """
    now = now or timezone.now()
    valid_from = valid_from or now
    reason = require_reason(reason, "Give a reason for this prescription.")
    _check_window(valid_from, valid_to, now)
    if not (route_iv or route_im):
        raise RuleViolation(
            "Allow at least one route: intravenous or intramuscular.",
            code="no_route",
            field="routes",
        )
    if not slot_doses:
        raise RuleViolation(
            "Prescribe a dose for at least one slot.", code="no_slot_doses", field="slot_doses"
        )
    doses = {
        code.strip().upper(): parse_mg(dose, field=f"slot_doses.{code}")
        for code, dose in slot_doses.items()
    }
    topup = None if topup_max_mg in (None, "") else parse_mg(topup_max_mg, field="topup_max_mg")

    settle_service_user(service_user.pk, now=now)
    with transaction.atomic():
        # Lock the person: version numbers, the status read and its change must
        # not interleave with another prescriber or the missed-dose scan.
        locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        status = Status(locked.status)
        if status not in PRESCRIBABLE:
            raise RuleViolation(
                f"{locked.display_name} is not in treatment (status: {status.label}). "
                "Prescriptions are for admitted service users.",
                code="not_in_treatment",
                field="service_user",
            )
        policy = policy_in_force(clinic=locked.clinic, at=valid_from)
        slot_codes = [slot.code for slot in policy.slots.all()]
        unknown = sorted(set(doses) - set(slot_codes))
        if unknown:
            raise RuleViolation(
                f"The clinic has no slot {', '.join(unknown)}; its slots are "
                f"{', '.join(slot_codes)}.",
                code="unknown_slot",
                field="slot_doses",
            )

        previous = latest_prescription(service_user=locked, at=valid_from)
        if purpose == Purpose.REDUCTION:
            limits.check_reduction(doses, previous)
        else:
            purpose = PRESCRIBABLE[status] if previous else Purpose.INDUCTION
        limits.check_daily_total(doses, topup, max_daily_total_mg, policy)
        limits.check_per_injection(doses, topup, policy)
        daily_total = (
            parse_mg(max_daily_total_mg, field="max_daily_total_mg")
            if max_daily_total_mg not in (None, "")
            else sum(doses.values()) + (topup or 0) * len(doses)
        )
        check_clinic_version_with_take_home(
            service_user=locked,
            clinic=ClinicDay("new version", doses, topup, Decimal(daily_total)),
            start=valid_from,
            end=valid_to,
            policy=policy,
        )
        evidence = {}
        if purpose == Purpose.INDUCTION and documented_transfer:
            evidence = limits.transfer_evidence(
                service=transfer_service,
                last_dose_mg=transfer_last_dose_mg,
                last_dose_on=transfer_last_dose_on,
                confirmed_by=transfer_confirmed_by,
                today=locked.clinic.clinic_day_of(now),
            )
        if purpose == Purpose.INDUCTION and route_iv and not documented_transfer:
            limits.check_new_starter(doses, topup)
        cautions = []
        if status == Status.RETITRATION_REQUIRED and previous is not None:
            # The first version after a lapse: bounded by the dose before it.
            cautions = limits.check_restart(doses, previous)
        elif purpose in RISING_PURPOSES and previous is not None:
            limits.check_rise(doses, previous, last_administered_session_dose(service_user=locked))
        elif purpose == Purpose.MAINTENANCE and previous is not None:
            cautions = limits.check_maintenance_rise(doses, locked, valid_from, policy)
        clinical_reason = (clinical_reason or "").strip()
        if cautions and not clinical_reason:
            raise RuleViolation(
                f"{'; '.join(cautions)}. Write the clinical reason for this dose, or "
                "prescribe within the limit.",
                code="clinical_reason_required",
                field="clinical_reason",
            )

        version = next_version(locked.prescriptions)
        prescription = create_version(
            Prescription,
            service_user=locked,
            version=version,
            purpose=purpose,
            route_iv=route_iv,
            route_im=route_im,
            topup_max_mg=topup,
            max_daily_total_mg=daily_total,
            valid_from=valid_from,
            valid_to=valid_to,
            documented_transfer=documented_transfer,
            prescriber=prescriber,
            reason=reason,
            clinical_reason=clinical_reason,
            caution="; ".join(cautions),
            **evidence,
            issued_at=now,
            plan=plan,
        )
        PrescriptionSlotDose.objects.bulk_create(
            PrescriptionSlotDose(prescription=prescription, slot_code=code, dose_mg=dose)
            for code, dose in doses.items()
        )
        if status == Status.RETITRATION_REQUIRED:
            # docs/domain.md: a re-titration prescription restarts the count at 0; sessions
            # whose window closes after it count again (dosing.missed._streak).
            # The transition's history row records it with the status.
            ServiceUser.objects.filter(pk=locked.pk).update(
                count_restarted_at=now, consecutive_not_taken=0
            )
            tolerance_renew(locked.pk, since=now, days=policy.retitration_days)
            service_user_transition(
                service_user=locked,
                to_status=Status.RETITRATION,
                changed_by=prescriber,
                reason=f"Re-titration prescription v{version}: {reason}",
                now=now,
            )
    return prescription


def _check_window(valid_from: dt.datetime, valid_to: dt.datetime | None, now: dt.datetime) -> None:
    if valid_from < now:
        raise RuleViolation(
            "A prescription cannot start in the past. Choose a start time from now on.",
            code="prescription_in_past",
            field="valid_from",
        )
    if valid_to is not None and valid_to <= valid_from:
        raise RuleViolation(
            f"The prescription must end after it starts: it starts "
            f"{timezone.localtime(valid_from):%d %b %Y %H:%M} but ends "
            f"{timezone.localtime(valid_to):%d %b %Y %H:%M}.",
            code="valid_to_not_after_valid_from",
            field="valid_to",
        )


def _lock_prescribable(service_user: ServiceUser) -> ServiceUser:
    """Lock the person: version numbers, the status read and its change must not
    interleave with another prescriber or the missed-dose scan."""
    locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
    if locked.status not in PRESCRIBABLE:
        raise RuleViolation(
            f"{locked.display_name} is not in treatment (status: {locked.get_status_display()})."
            " Prescriptions are for admitted service users.",
            code="not_in_treatment",
            field="service_user",
        )
    return locked


def methadone_prescribe(
    *,
    service_user: ServiceUser,
    prescriber: "User",
    nightly_dose_mg: Decimal | str,
    pharmacy: Pharmacy,
    reason: str,
    valid_from: dt.datetime | None = None,
    valid_to: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> MethadonePrescription:
    """The next version of a service user's overnight oral methadone."""
    now = now or timezone.now()
    valid_from = valid_from or now
    reason = require_reason(reason, "Give a reason for this methadone prescription.")
    _check_window(valid_from, valid_to, now)
    # The nightly dose's column holds 4 digits before the point.
    dose = parse_mg(nightly_dose_mg, field="nightly_dose_mg", maximum=Decimal("9999.99"))
    with transaction.atomic():
        locked = _lock_prescribable(service_user)
        if pharmacy.clinic_id != locked.clinic_id:
            raise RuleViolation(
                "Choose one of the clinic's own pharmacies.",
                code="pharmacy_elsewhere",
                field="pharmacy",
            )
        if not Pharmacy.objects.filter(pk=pharmacy.pk, active=True).exists():
            raise RuleViolation(
                f"{pharmacy.name} is no longer used by the clinic: choose another pharmacy.",
                code="pharmacy_inactive",
                field="pharmacy",
            )
        return create_version(
            MethadonePrescription,
            service_user=locked,
            version=next_version(locked.methadone_prescriptions),
            nightly_dose_mg=dose,
            pharmacy=pharmacy,
            valid_from=valid_from,
            valid_to=valid_to,
            prescriber=prescriber,
            reason=reason,
            issued_at=now,
        )


def pharmacy_add(
    *,
    clinic: "Clinic",
    name: str,
    address: str,
    ods_code: str = "",
    phone: str = "",
    by: "User | None" = None,
) -> Pharmacy:
    pharmacy = Pharmacy(
        clinic=clinic,
        name=name.strip(),
        address=address.strip(),
        ods_code=ods_code.strip().upper(),
        phone=phone.strip(),
    )
    _save_pharmacy(pharmacy, by=by, why="Pharmacy added")
    return pharmacy


def _save_pharmacy(pharmacy: Pharmacy, *, by: "User | None", why: str) -> None:
    namesake = Pharmacy.objects.filter(clinic=pharmacy.clinic_id, name=pharmacy.name)
    if namesake.exclude(pk=pharmacy.pk).exists():
        raise RuleViolation(
            f"The clinic already has a pharmacy named {pharmacy.name}.",
            code="pharmacy_name_taken",
            field="name",
        )
    try:
        pharmacy.full_clean()
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise RuleViolation(
            " ".join(messages),
            code="pharmacy_invalid",
            field=None if field == NON_FIELD_ERRORS else field,
        ) from error
    try:
        with transaction.atomic():
            audited(pharmacy, by=by, why=why).save()
    except IntegrityError as error:  # two managers adding the same name at once
        raise RuleViolation(
            f"The clinic already has a pharmacy named {pharmacy.name}.",
            code="pharmacy_name_taken",
            field="name",
        ) from error


def pharmacy_update(
    *,
    pharmacy: Pharmacy,
    by: "User",
    reason: str,
    name: str,
    address: str,
    ods_code: str = "",
    phone: str = "",
) -> Pharmacy:
    """New contact details for a pharmacy, kept in its history with who and why."""
    reason = require_reason(reason, "Say why the pharmacy's details change.")
    with transaction.atomic():
        locked = Pharmacy.objects.select_for_update().get(pk=pharmacy.pk)
        locked.name, locked.address = name.strip(), address.strip()
        locked.ods_code, locked.phone = ods_code.strip().upper(), phone.strip()
        _save_pharmacy(locked, by=by, why=reason)
    return locked


def pharmacy_deactivate(*, pharmacy: Pharmacy, by: "User", reason: str) -> Pharmacy:
    """The clinic no longer uses the pharmacy: no new methadone prescription may name
    it. Versions in force stay as they are until a prescriber issues the next."""
    reason = require_reason(reason, "Say why the pharmacy is no longer used.")
    with transaction.atomic():
        locked = Pharmacy.objects.select_for_update().get(pk=pharmacy.pk)
        if not locked.active:
            raise Conflict(
                f"{locked.name} is already no longer used.", code="pharmacy_already_inactive"
            )
        locked.active = False
        audited(locked, by=by, why=reason).save()
    return locked


def prescription_cancel(
    *, prescription: Prescription, cancelled_by: "User", reason: str, now: dt.datetime | None = None
) -> PrescriptionCancellation:
    """Withdraw a version that has not started yet. One that is in effect cannot be."""
    now = now or timezone.now()
    reason = require_reason(reason, "Give a reason for cancelling this version.")
    with transaction.atomic():
        ServiceUser.objects.select_for_update().get(pk=prescription.service_user_id)
        if prescription.valid_from <= now:
            raise RuleViolation(
                f"Version {prescription.version} took effect on "
                f"{timezone.localtime(prescription.valid_from):%d %b %Y %H:%M} and cannot be "
                "cancelled. Issue a new version instead.",
                code="version_already_started",
            )
        try:
            with transaction.atomic():
                return PrescriptionCancellation.objects.create(
                    prescription=prescription,
                    cancelled_by=cancelled_by,
                    cancelled_at=now,
                    reason=reason,
                )
        except IntegrityError as error:
            raise Conflict(
                f"Version {prescription.version} is already cancelled.", code="already_cancelled"
            ) from error
