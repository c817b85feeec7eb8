"""Guest dosing (docs/domain.md, "Guest dosing"): a service user dosed at another
clinic of the installation for a date range, with the home prescription.

The home prescriber authorises the stay; the host's manager accepts it. From then,
for the stay's days, the host schedules the person's sessions and its register
supplies the doses, and the home clinic's sessions are marked ``guest``: never dosed,
never missed, and only the home board's "guest at ...". The database keeps one
session that can be dosed per person, day and slot (one_session_per_slot_per_day),
so no slot is offered in both clinics. The missed-dose rules follow the person: the
consecutive count is over all their sessions, wherever they were.
"""

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import alert_close, alert_raise
from core.audit import history_snapshot
from core.errors import Conflict, RuleViolation, require_reason
from eligibility.models import IN_TREATMENT, Clinic, ServiceUser, Status
from eligibility.selectors import policy_in_force

from .models import (
    MAX_STAY_DAYS,
    DoseSession,
    GuestStay,
    GuestStayAcceptance,
    GuestStayEnd,
    SessionStatus,
)
from .selectors import prescription_in_force
from .sessions import dose_sessions_generate

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _dosed_slots(service_user: ServiceUser, at: dt.datetime) -> list[str]:
    prescription = prescription_in_force(service_user=service_user, at=at)
    if prescription is None:
        raise RuleViolation(
            f"{service_user.display_name} has no prescription in force: prescribe first, "
            "so that the host knows the doses.",
            code="no_prescription",
        )
    return sorted(dose.slot_code for dose in prescription.slot_doses.all())


def _check_host_slots(service_user: ServiceUser, host: Clinic, at: dt.datetime) -> None:
    """The host doses the home prescription in its own slots of the same names: each
    slot the prescription doses must be one of the host's."""
    policy = policy_in_force(clinic=host, at=at)
    host_slots = {slot.code for slot in policy.slots.all()} if policy else set()
    missing = [code for code in _dosed_slots(service_user, at) if code not in host_slots]
    if missing:
        has = ", ".join(sorted(host_slots)) or "none"
        raise RuleViolation(
            f"{service_user.display_name}'s prescription doses {', '.join(missing)}, and "
            f"{host.name} has no such slot (its slots: {has}). Choose a clinic with those "
            "slots, or change the prescription first.",
            code="host_slots_differ",
            field="host_clinic",
        )


def _check_days(first_day: dt.date, last_day: dt.date, today: dt.date) -> None:
    if first_day < today:
        raise RuleViolation(
            f"The first day has passed: give today ({today:%-d %b %Y}) or a later day.",
            code="stay_in_past",
            field="first_day",
        )
    if last_day < first_day:
        raise RuleViolation(
            "The last day is before the first day.", code="stay_ends_first", field="last_day"
        )
    if (last_day - first_day).days + 1 > MAX_STAY_DAYS:
        raise RuleViolation(
            f"A guest stay is at most {MAX_STAY_DAYS} days; this is "
            f"{(last_day - first_day).days + 1}. For longer, transfer the person's care.",
            code="stay_too_long",
            field="last_day",
        )


def guest_stay_authorise(
    *,
    service_user: ServiceUser,
    prescriber: "User",
    host_clinic: Clinic,
    first_day: dt.date,
    last_day: dt.date,
    reason: str,
    now: dt.datetime | None = None,
) -> GuestStay:
    """The home prescriber authorises a stay at another clinic of the installation. It
    is in effect once the host's manager accepts it."""
    now = now or timezone.now()
    reason = require_reason(reason)
    home = service_user.clinic
    if not prescriber.has_perm("dosing.add_gueststay", home):
        raise RuleViolation(
            "Only a prescriber of the service user's clinic authorises a guest stay.",
            code="prescriber_required",
        )
    if host_clinic.pk == home.pk:
        raise RuleViolation(
            f"{home.name} is {service_user.display_name}'s own clinic: choose another.",
            code="host_is_home",
            field="host_clinic",
        )
    _check_days(first_day, last_day, home.clinic_day_of(now))
    with transaction.atomic():
        person = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        if person.status not in IN_TREATMENT or person.status == Status.SUSPENDED:
            raise RuleViolation(
                f"{person.display_name} is not in treatment now "
                f"({person.get_status_display()}): a guest stay is for someone being dosed.",
                code="not_in_treatment",
            )
        _check_host_slots(person, host_clinic, now)
        overlapping = (
            GuestStay.objects.filter(service_user=person, end__isnull=True, first_day__lte=last_day)
            .filter(last_day__gte=first_day)
            .select_related("host_clinic")
            .first()
        )
        if overlapping:
            raise RuleViolation(
                f"{person.display_name} has a stay at {overlapping.host_clinic.name} from "
                f"{overlapping.first_day:%-d %b} to {overlapping.last_day:%-d %b %Y}: end it "
                "first, or choose other days.",
                code="stay_overlaps",
                field="first_day",
            )
        stay = GuestStay.objects.create(
            service_user=person,
            home_clinic=home,
            host_clinic=host_clinic,
            first_day=first_day,
            last_day=last_day,
            reason=reason,
            authorised_by=prescriber,
            authorised_at=now,
        )
        alert_raise(
            kind=AlertKind.GUEST_STAY_REQUESTED,
            clinic=host_clinic,
            service_user=person,
            cause_key=_request_cause(stay),
            detail=f"{person.full_name} of {home.name} is to be dosed here from "
            f"{first_day:%-d %b} to {last_day:%-d %b %Y}: accept or decline it on Guest stays.",
            now=now,
        )
    return stay


def _request_cause(stay: GuestStay) -> str:
    return f"guest_stay:{stay.pk}"


def _locked_open(stay: GuestStay) -> tuple[GuestStay, ServiceUser]:
    """The stay as it now is, under its person's row lock, refused if it has ended."""
    person = ServiceUser.objects.select_for_update().get(pk=stay.service_user_id)
    fresh = GuestStay.objects.select_related("acceptance", "end", "host_clinic", "home_clinic").get(
        pk=stay.pk
    )
    if hasattr(fresh, "end"):
        raise Conflict(
            f"This stay was ended on {fresh.end.ended_at:%-d %b %Y}: {fresh.end.reason}",
            code="stay_ended",
        )
    return fresh, person


def may_accept(user: Any, stay: GuestStay) -> bool:
    """A manager of the host accepts, or declines, a stay."""
    return bool(user.has_perm("dosing.accept_guest_stay", stay.host_clinic))


def who_accepts(stay: GuestStay) -> str:
    return f"Only a manager of {stay.host_clinic.name} accepts a stay there."


def may_end(user: Any, stay: GuestStay) -> bool:
    """A prescriber of the home clinic cancels a stay; a manager of the host declines it
    or ends it early."""
    return bool(user.has_perm("dosing.add_gueststay", stay.home_clinic) or may_accept(user, stay))


def who_ends(stay: GuestStay) -> str:
    return (
        f"Only a prescriber of {stay.home_clinic.name} or a manager of "
        f"{stay.host_clinic.name} ends this stay."
    )


def guest_stay_accept(
    *, stay: GuestStay, manager: "User", note: str = "", now: dt.datetime | None = None
) -> GuestStay:
    """The host's manager accepts the stay. Its sessions that have not opened move to
    the host at once; generation schedules the later days in both clinics."""
    now = now or timezone.now()
    host = stay.host_clinic
    if not may_accept(manager, stay):
        raise RuleViolation(who_accepts(stay), code="manager_required")
    host_today = host.clinic_day_of(now)
    with transaction.atomic():
        stay, person = _locked_open(stay)
        if hasattr(stay, "acceptance"):
            raise Conflict("This stay is already accepted.", code="stay_accepted")
        if stay.last_day < host_today:
            raise RuleViolation(
                f"This stay ended on {stay.last_day:%-d %b %Y}: nothing is left to accept.",
                code="stay_over",
            )
        _check_host_slots(person, host, now)
        stay.acceptance = GuestStayAcceptance.objects.create(
            stay=stay, accepted_by=manager, accepted_at=now, note=(note or "").strip()
        )
        _sessions_move_to_host(stay, manager, now)
        alert_close(
            kind=AlertKind.GUEST_STAY_REQUESTED,
            cause_key=_request_cause(stay),
            by=manager,
            note="Accepted.",
            now=now,
        )
    return stay


def _sessions_move_to_host(stay: GuestStay, by: "User", now: dt.datetime) -> None:
    """The home sessions of the stay's days that have not opened become guest; the
    host's are scheduled for the days generation has reached (today and tomorrow)."""
    home_sessions = DoseSession.objects.filter(
        service_user=stay.service_user_id,
        clinic=stay.home_clinic_id,
        clinic_day__gte=stay.first_day,
        clinic_day__lte=stay.last_day,
        status=SessionStatus.SCHEDULED,
        opens_at__gt=now,
    )
    _sessions_set(
        list(home_sessions.values_list("pk", flat=True)),
        by=by,
        now=now,
        why=f"Guest at {stay.host_clinic.name}",
        status=SessionStatus.GUEST,
        outcome_reason="guest",
        outcome_by=by,
        guest_stay=stay,
    )
    host_today = stay.host_clinic.clinic_day_of(now)
    days = [
        day
        for day in (host_today, host_today + dt.timedelta(days=1))
        if stay.first_day <= day <= stay.last_day
    ]
    dose_sessions_generate(clinic=stay.host_clinic, days=days, now=now)
    dose_sessions_generate(clinic=stay.home_clinic, days=days, now=now)


def guest_stay_end(
    *, stay: GuestStay, by: "User", reason: str, now: dt.datetime | None = None
) -> GuestStay:
    """The home prescriber cancels the stay, or the host's manager declines or ends it.
    Its sessions that have not opened go back to the home clinic; those that have stay
    where they are."""
    now = now or timezone.now()
    reason = require_reason(reason)
    if not may_end(by, stay):
        raise RuleViolation(who_ends(stay), code="not_allowed")
    home_today = stay.home_clinic.clinic_day_of(now)
    with transaction.atomic():
        stay, _person = _locked_open(stay)
        if stay.last_day < home_today:
            raise RuleViolation(
                f"This stay ended on {stay.last_day:%-d %b %Y}: there is nothing to end.",
                code="stay_over",
            )
        stay.end = GuestStayEnd.objects.create(
            stay=stay, ended_by=by, ended_at=now, home_from=home_today, reason=reason
        )
        _sessions_return_home(stay, by, now)
        alert_close(
            kind=AlertKind.GUEST_STAY_REQUESTED,
            cause_key=_request_cause(stay),
            by=by,
            note=f"The stay was ended: {reason}",
            now=now,
        )
    return stay


def _sessions_return_home(stay: GuestStay, by: "User", now: dt.datetime) -> None:
    """The host's sessions of the stay that have not opened and have no record are
    taken off its schedule, and the home sessions of those slots are the room's again."""
    untouched = DoseSession.objects.filter(
        guest_stay=stay,
        clinic=stay.host_clinic_id,
        status=SessionStatus.SCHEDULED,
        opens_at__gt=now,
        assessments__isnull=True,
    )
    untouched.delete()
    live_beside = DoseSession.objects.filter(
        service_user=OuterRef("service_user"),
        clinic_day=OuterRef("clinic_day"),
        slot_code=OuterRef("slot_code"),
    ).exclude(status=SessionStatus.GUEST)
    back = list(
        DoseSession.objects.filter(
            guest_stay=stay, clinic=stay.home_clinic_id, status=SessionStatus.GUEST
        )
        .filter(opens_at__gt=now)
        .exclude(Exists(live_beside))
        .values_list("pk", flat=True)
    )
    _sessions_set(
        back,
        by=by,
        now=now,
        why=f"Guest stay at {stay.host_clinic.name} ended: dosed at home again",
        status=SessionStatus.SCHEDULED,
        outcome_reason="",
        outcome_by=None,
        guest_stay=None,
    )


def _sessions_set(ids: list[int], *, by: "User", now: dt.datetime, why: str, **fields: Any) -> None:
    """Give these sessions a new status and its fields, kept in their history."""
    if not ids:
        return
    DoseSession.objects.filter(pk__in=ids).update(status_changed_at=now, **fields)
    history_snapshot(DoseSession.objects.filter(pk__in=ids), reason=why, when=now, user=by)
