"""Supplying take-home doses at a clinic visit (docs/domain.md, "Take-home doses"):
witnessed, one dose for each take-home slot from today to the day before the next
visit, each session marked take-home, and the register's line for what left, all in
one transaction."""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core.audit import history_snapshot
from core.errors import RuleViolation
from eligibility.models import ClinicPolicy, ServiceUser

from .guest_selectors import guest_days
from .mg import format_mg
from .missed import settle_service_user, tolerance_renew
from .models import (
    DoseSession,
    EntryKind,
    RegisterSection,
    SessionStatus,
    TakeHomeDose,
    TakeHomePrescription,
    TakeHomeRoute,
    TakeHomeSupply,
)
from .register_ledger import ampoules_opened, register_append
from .sessions import slot_windows
from .take_home import take_home_barrier, version_governing
from .take_home_lapses import suspended, take_home_lapse
from .witness import witness_confirm

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from eligibility.models import Clinic

# A supply covers at most a week: today and the six days after.
MAX_DAYS = 7
TABLET = "tablet"


class PlannedDose(NamedTuple):
    day: dt.date
    slot_code: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    policy: ClinicPolicy
    prescription: TakeHomePrescription


def _versions(service_user: ServiceUser, last: dt.date) -> list[TakeHomePrescription]:
    """Every version started by `last`, newest first (one query): the one governing a
    day is the latest started by then (take_home.take_home_in_force)."""
    return list(
        TakeHomePrescription.objects.filter(
            service_user=service_user, valid_from__lte=last
        ).order_by("-valid_from", "-version")
    )


def planned_doses(
    *, service_user: ServiceUser, through: dt.date, now: dt.datetime
) -> list[PlannedDose]:
    """The take-home doses due from now to the end of `through`: each take-home slot
    of each day its prescription applies, whose window has not closed."""
    clinic = service_user.clinic
    today = clinic.clinic_day_of(now)
    versions = _versions(service_user, through)
    # A guest elsewhere is supplied by the host, not from here.
    away = guest_days(service_user, today, through)
    planned = []
    day = today
    while day <= through:
        version = version_governing(versions, day)
        if version is not None and version.applies_on(day) and day not in away:
            for policy, code, opens, closes in slot_windows(clinic=clinic, day=day):
                if code in version.slot_codes and closes > now:
                    planned.append(PlannedDose(day, code, opens, closes, policy, version))
        day += dt.timedelta(days=1)
    return planned


def default_through(*, service_user: ServiceUser, now: dt.datetime) -> dt.date:
    """The last day of the first run of take-home days from today, within a week: a
    supply on Thursday for Saturday and Sunday runs to Sunday."""
    today = service_user.clinic.clinic_day_of(now)
    last = today + dt.timedelta(days=MAX_DAYS - 1)
    days = sorted(
        {dose.day for dose in planned_doses(service_user=service_user, through=last, now=now)}
    )
    if not days:
        return today
    through = days[0]
    while through + dt.timedelta(days=1) in days:
        through += dt.timedelta(days=1)
    return through


def _section(clinic: "Clinic", route: str) -> RegisterSection:
    """The register section the doses come from: the dose-supply section's ampoules
    for an injection, tablets for a dose by mouth."""
    if route == TakeHomeRoute.ORAL:
        sections = RegisterSection.objects.filter(clinic=clinic, form=TABLET).order_by(
            "-strength_mg"
        )
        section = sections.first()
        what = "tablets"
    else:
        section = RegisterSection.objects.filter(clinic=clinic, supplies_doses=True).first()
        what = "the ampoules doses are drawn from"
    if section is None:
        raise RuleViolation(
            f"The register has no section for {what}: a manager opens one (Register → Open a "
            "section) and the stock is received before take-home doses can be supplied.",
            code="no_register_section",
        )
    return section


def _units(dose: Decimal, section: RegisterSection) -> int:
    if section.form == TABLET:
        units = dose / section.strength_mg
        if units != units.to_integral_value():
            raise RuleViolation(
                f"A dose of {format_mg(dose)} mg cannot be made of whole "
                f"{format_mg(section.strength_mg)} mg tablets. Ask the prescriber for a dose "
                "the tablets make.",
                code="dose_not_whole_tablets",
            )
        return int(units)
    return ampoules_opened(dose, section)


def _check_through(through: dt.date, today: dt.date) -> None:
    if through < today:
        raise RuleViolation(
            f"The supply must run to today or later; {through:%-d %b %Y} is past.",
            code="take_home_through_past",
            field="through",
        )
    if (through - today).days >= MAX_DAYS:
        raise RuleViolation(
            f"A supply covers at most {MAX_DAYS} days: give a last day up to "
            f"{today + dt.timedelta(days=MAX_DAYS - 1):%-d %b %Y}.",
            code="take_home_too_far",
            field="through",
        )


@sensitive_variables("witness_password")
def take_home_supply(
    *,
    service_user: ServiceUser,
    nurse: "User",
    witness_username: str,
    witness_password: str,
    through: dt.date,
    note: str = "",
    now: dt.datetime | None = None,
) -> TakeHomeSupply:
    """Hand over the take-home doses due from now to the end of `through`, witnessed by
    password. Each dose's session is marked take-home (created when not yet scheduled);
    one due in the room already, or already supplied, is not supplied again. The
    register's section gives the ampoules or tablets, or the supply is refused."""
    now = now or timezone.now()
    clinic = service_user.clinic
    today = clinic.clinic_day_of(now)
    _check_through(through, today)
    settle_service_user(service_user.pk, now=now)
    witness = witness_confirm(
        witness_username=witness_username,
        witness_password=witness_password,
        nurse=nurse,
        clinic=clinic,
        now=now,
    )
    with transaction.atomic():
        locked = ServiceUser.objects.select_for_update().get(pk=service_user.pk)
        if barrier := take_home_barrier(locked):
            raise RuleViolation(barrier, code="take_home_not_allowed_now")
        planned = planned_doses(service_user=locked, through=through, now=now)
        sessions = {
            (s.clinic_day, s.slot_code): s
            for s in DoseSession.objects.select_for_update().filter(
                service_user=locked, clinic=clinic, clinic_day__gte=today, clinic_day__lte=through
            )
        }
        due = [
            dose
            for dose in planned
            if (dose.day, dose.slot_code) not in sessions
            or sessions[dose.day, dose.slot_code].status == SessionStatus.SCHEDULED
        ]
        if not due:
            raise RuleViolation(
                f"No take-home dose is due from today to {through:%-d %b %Y}: the take-home "
                "prescription has none then, or they are supplied already.",
                code="nothing_to_supply",
                field="through",
            )
        for version in {dose.prescription for dose in due}:
            if lapse := take_home_lapse(version=version, now=now):
                raise RuleViolation(suspended(lapse), code="take_home_suspended")
        routes = {dose.prescription.route for dose in due}
        if len(routes) > 1:
            raise RuleViolation(
                "The doses in these days change route between take-home versions: supply "
                "up to the day before the change, then the rest.",
                code="take_home_routes_differ",
                field="through",
            )
        section = _section(locked.clinic, routes.pop())
        units = [_units(dose.prescription.dose_mg, section) for dose in due]
        supply = TakeHomeSupply.objects.create(
            service_user=locked,
            clinic=locked.clinic,
            prescription=due[-1].prescription,
            section=section,
            units=sum(units),
            supplied_by=nurse,
            witness=witness,
            supplied_at=now,
            next_visit=through + dt.timedelta(days=1),
            note=(note or "").strip(),
        )
        marked = _sessions_marked(locked, due, sessions, nurse, now)
        TakeHomeDose.objects.bulk_create(
            TakeHomeDose(
                supply=supply,
                session=marked[dose.day, dose.slot_code],
                clinic_day=dose.day,
                slot_code=dose.slot_code,
                dose_mg=dose.prescription.dose_mg,
                route=dose.prescription.route,
                units=count,
            )
            for dose, count in zip(due, units, strict=True)
        )
        # docs/domain.md: tolerance lasts the re-titration days after the last dose;
        # the last take-home dose is taken by its window's close.
        last = due[-1]
        tolerance_renew(locked.pk, since=last.closes_at, days=last.policy.retitration_days)
        register_append(
            section,
            kind=EntryKind.TAKE_HOME,
            by=nurse,
            now=now,
            ampoules_out=supply.units,
            ampoules=supply.units,
            refusal_field="through",
            take_home_supply=supply,
            witness=witness,
            note=f"Supplied to {locked.full_name} to take home: {len(due)} doses, "
            f"{due[0].day:%-d %b} to {due[-1].day:%-d %b}, {section.count(supply.units)}.",
        )
    return supply


def _sessions_marked(
    service_user: ServiceUser,
    due: Sequence[PlannedDose],
    sessions: dict[tuple[dt.date, str], DoseSession],
    nurse: "User",
    now: dt.datetime,
) -> dict[tuple[dt.date, str], DoseSession]:
    """Each due dose's session, marked take-home: the scheduled one, or a new one."""
    scheduled = [sessions[d.day, d.slot_code].pk for d in due if (d.day, d.slot_code) in sessions]
    DoseSession.objects.filter(pk__in=scheduled, status=SessionStatus.SCHEDULED).update(
        status=SessionStatus.TAKE_HOME,
        status_changed_at=now,
        outcome_reason="take_home",
        outcome_by=nurse,
    )
    DoseSession.objects.bulk_create(
        DoseSession(
            service_user=service_user,
            clinic=service_user.clinic,
            clinic_day=d.day,
            slot_code=d.slot_code,
            policy=d.policy,
            opens_at=d.opens_at,
            closes_at=d.closes_at,
            status=SessionStatus.TAKE_HOME,
            status_changed_at=now,
            outcome_reason="take_home",
            outcome_by=nurse,
        )
        for d in due
        if (d.day, d.slot_code) not in sessions
    )
    days = {d.day for d in due}
    marked = DoseSession.objects.filter(
        service_user=service_user, clinic_day__in=days, status=SessionStatus.TAKE_HOME
    )
    history_snapshot(marked, reason="Supplied to take home", when=now, user=nurse)
    return {(s.clinic_day, s.slot_code): s for s in marked}
