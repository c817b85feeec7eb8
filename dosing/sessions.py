"""Dose session scheduling: one session per service user, slot and clinic day."""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from eligibility.models import IN_TREATMENT, Clinic, ClinicPolicy, ServiceUser, Status

from .models import DoseSession, Prescription, PrescriptionSlotDose, SessionStatus


def slot_windows(
    *, clinic: Clinic, day: dt.date
) -> list[tuple[ClinicPolicy, str, dt.datetime, dt.datetime]]:
    """The day's slots as (policy, code, opens, closes), each from the policy in force
    when that slot opens, so that a change during the day applies to later slots."""
    zone = clinic.zone
    day_start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    versions = list(
        ClinicPolicy.objects.filter(clinic=clinic, effective_from__lt=day_end)
        .prefetch_related("slots")
        .order_by("-effective_from")
    )

    def in_force(at: dt.datetime) -> ClinicPolicy | None:
        return next((p for p in versions if p.effective_from <= at), None)

    candidates = [p for p in versions if p.effective_from >= day_start]
    first = in_force(day_start)
    if first is not None:
        candidates.append(first)
    windows = []
    for policy in candidates:
        for slot in policy.slots.all():
            opens, closes = slot.window_on(day, zone)
            if in_force(opens) == policy:
                windows.append((policy, slot.code, opens, closes))
    return sorted(windows, key=lambda window: window[2])


def dose_sessions_generate(
    *, clinic: Clinic, days: Iterable[dt.date], now: dt.datetime | None = None
) -> int:
    """Schedule the sessions for these clinic days; returns how many were new.

    Set-wise: one insert per slot, whoever is in treatment and prescribed by
    then. The unique constraint makes a second run, or two at once, add
    nothing. A suspended person's sessions are excused from the start.
    """
    now = now or timezone.now()
    created = 0
    for day in days:
        for policy, code, opens, closes in slot_windows(clinic=clinic, day=day):
            # The version in force when the slot opens must dose this slot: a
            # once-daily prescription gets no PM session to be "missed".
            in_force = Subquery(
                Prescription.objects.filter(
                    service_user=OuterRef("pk"),
                    valid_from__lte=opens,
                    cancellation__isnull=True,
                )
                .order_by("-valid_from", "-version")
                .values("pk")[:1]
            )
            doses_slot = PrescriptionSlotDose.objects.filter(
                prescription=OuterRef("prescription_id"), slot_code=code
            ).filter(Q(prescription__valid_to__isnull=True) | Q(prescription__valid_to__gt=opens))
            people = list(
                ServiceUser.objects.filter(clinic=clinic, status__in=IN_TREATMENT)
                .annotate(prescription_id=in_force)
                .filter(Exists(doses_slot))
                .values_list("pk", "status")
            )
            sessions = [
                DoseSession(
                    service_user_id=pk,
                    clinic=clinic,
                    clinic_day=day,
                    slot_code=code,
                    policy=policy,
                    opens_at=opens,
                    closes_at=closes,
                    status_changed_at=now,
                    status=SessionStatus.EXCUSED
                    if status == Status.SUSPENDED
                    else SessionStatus.SCHEDULED,
                    outcome_reason="suspended" if status == Status.SUSPENDED else "",
                )
                for pk, status in people
            ]
            with transaction.atomic():
                before = DoseSession.objects.filter(
                    clinic=clinic, clinic_day=day, slot_code=code
                ).count()
                DoseSession.objects.bulk_create(sessions, ignore_conflicts=True)
                after = DoseSession.objects.filter(
                    clinic=clinic, clinic_day=day, slot_code=code
                ).count()
            created += after - before
    return created


def dose_sessions_generate_ahead(*, now: dt.datetime | None = None) -> int:
    """Today's and tomorrow's sessions for every clinic, each in its own time zone."""
    now = now or timezone.now()
    created = 0
    for clinic in Clinic.objects.all():
        today = clinic.clinic_day_of(now)
        created += dose_sessions_generate(
            clinic=clinic, days=[today, today + dt.timedelta(days=1)], now=now
        )
    return created
