"""Dose session scheduling: one session per service user, slot and clinic day."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from core.audit import audited
from core.errors import RuleViolation, require_reason
from eligibility.models import IN_TREATMENT, Clinic, ClinicPolicy, ServiceUser, Status
from eligibility.selectors import policy_in_force

from .guest_selectors import stays_in_effect
from .models import DoseSession, Prescription, PrescriptionSlotDose, SessionStatus
from .selectors import prescription_in_force


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
    nothing. A suspended person's sessions are excused from the start. A guest stay
    in effect schedules the person at the host, and marks their home session guest
    (dosing.guest).
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
            # A guest stay in effect that day: for someone of this clinic, the stay
            # elsewhere that marks their session guest; for someone of another, the
            # stay this clinic hosts, if it accepted the stay before the window closed.
            stays = stays_in_effect(day).filter(service_user=OuterRef("pk"))
            hosted = stays.filter(host_clinic=clinic, acceptance__accepted_at__lt=closes)
            treated = ServiceUser.objects.filter(status__in=IN_TREATMENT).annotate(
                prescription_id=in_force
            )
            people = [
                (pk, status, stay, True)
                for pk, status, stay in treated.filter(clinic=clinic)
                .annotate(stay=Subquery(stays.values("pk")[:1]))
                .filter(Exists(doses_slot))
                .values_list("pk", "status", "stay")
            ] + [
                (pk, status, stay, False)
                for pk, status, stay in treated.filter(Exists(hosted))
                .exclude(status=Status.SUSPENDED)
                .annotate(stay=Subquery(hosted.values("pk")[:1]))
                .filter(Exists(doses_slot))
                .values_list("pk", "status", "stay")
            ]
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
                    guest_stay_id=stay,
                    **_first_status(status, away=home and stay is not None),
                )
                for pk, status, stay, home in people
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


def _first_status(person_status: str, *, away: bool) -> dict[str, str]:
    """A new session's status: excused while the person is suspended, guest at home
    while they are dosed at another clinic, otherwise scheduled."""
    if person_status == Status.SUSPENDED:
        return {"status": SessionStatus.EXCUSED, "outcome_reason": "suspended"}
    if away:
        return {"status": SessionStatus.GUEST, "outcome_reason": "guest"}
    return {"status": SessionStatus.SCHEDULED, "outcome_reason": ""}


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


def session_unscheduled_add(
    *,
    service_user: ServiceUser,
    slot_code: str,
    prescriber: Any,
    reason: str,
    now: dt.datetime | None = None,
) -> DoseSession:
    """A session for today outside the generated schedule, added by a prescriber: on
    the admission day, or for a first dose outside the slots. It is for one of the
    prescription's slots, whose dose it gives, and follows every rule of a scheduled
    session: it opens now and closes when the day's last slot closes, so it is within
    opening hours; the minimum interval, the daily ceiling and the missed-dose scan
    count it like any other. One session per slot and day, as ever."""
    now = now or timezone.now()
    reason = require_reason(reason)
    clinic = service_user.clinic
    if not prescriber.has_perm("dosing.prescribe", clinic):
        raise RuleViolation(
            "Only a prescriber of the clinic adds a session.", code="prescriber_required"
        )
    day = clinic.clinic_day_of(now)
    # Today's hours are the slots of the policy in force now: on the day a clinic
    # opens, or a new version starts, the slots already past count too.
    policy = policy_in_force(clinic=clinic, at=now)
    slots = policy.slots.all() if policy else []
    windows = sorted(
        ((slot.code, *slot.window_on(day, clinic.zone)) for slot in slots),
        key=lambda window: window[1],
    )
    if not windows or not windows[0][1] <= now < max(closes for *_, closes in windows):
        zone = clinic.zone
        hours = (
            f"today from {windows[0][1].astimezone(zone):%H:%M} to "
            f"{max(c for *_, c in windows).astimezone(zone):%H:%M}"
            if windows
            else "not today"
        )
        raise RuleViolation(
            f"The clinic is open {hours}: a session can be added only within its hours.",
            code="outside_opening_hours",
        )
    closes = max(closes for *_, closes in windows)
    with transaction.atomic():
        person = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        if person.status not in IN_TREATMENT or person.status == Status.SUSPENDED:
            raise RuleViolation(
                f"{person.display_name} is not in treatment now ({person.get_status_display()}): "
                "a session is for someone admitted and not suspended.",
                code="not_in_treatment",
            )
        prescription = prescription_in_force(service_user=person, at=now)
        if prescription is None or prescription.dose_for(slot_code) is None:
            raise RuleViolation(
                f"{person.display_name}'s prescription in force has no {slot_code} dose: "
                "prescribe first, or choose a slot it doses.",
                code="no_dose_for_slot",
                field="slot_code",
            )
        if DoseSession.objects.filter(
            service_user=person, clinic_day=day, slot_code=slot_code
        ).exists():
            raise RuleViolation(
                f"{person.display_name} has a {slot_code} session today already.",
                code="session_exists",
                field="slot_code",
            )
        session = DoseSession(
            service_user=person,
            clinic=clinic,
            clinic_day=day,
            slot_code=slot_code,
            policy=policy,
            opens_at=now.replace(second=0, microsecond=0),
            closes_at=closes,
            status=SessionStatus.SCHEDULED,
            status_changed_at=now,
            added_by=prescriber,
        )
        audited(session, by=prescriber, why=f"Unscheduled session: {reason}")
        try:
            with transaction.atomic():
                session.save()
        except IntegrityError as race:  # generation made it meanwhile: one per slot
            raise RuleViolation(
                f"{service_user.display_name} has a {slot_code} session today already.",
                code="session_exists",
                field="slot_code",
            ) from race
    return session
