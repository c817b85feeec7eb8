"""Unused take-home doses brought back (docs/domain.md, "Take-home doses"): recorded,
and destroyed at once in front of an authorised witness. A returned dose was not
taken: its session, if its window has closed, is not taken (and the consecutive
count is recounted); if it is still to come, the session is the room's again."""

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from core.audit import history_snapshot
from core.errors import Conflict, RuleViolation
from eligibility.models import ServiceUser
from eligibility.selectors import policy_in_force

from .missed import consecutive_counts_apply
from .models import (
    Administration,
    DoseSession,
    EntryKind,
    SessionStatus,
    TakeHomeDose,
    TakeHomeReturn,
    TakeHomeReturnedDose,
    TakeHomeSupply,
)
from .register_ledger import register_append, whole_ampoules
from .witness import witness_confirm

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@sensitive_variables("witness_password")
def take_home_return(
    *,
    supply: TakeHomeSupply,
    dose_ids: Iterable[int],
    units: object,
    received_by: "User",
    witness_username: str,
    witness_password: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> TakeHomeReturn:
    """Record the doses of a supply brought back unused, and their destruction in
    front of an authorised witness (a prescriber), in one transaction. The register
    notes it beside the stock, never in it: what left as a supply does not come back."""
    now = now or timezone.now()
    chosen = {int(pk) for pk in dose_ids}
    if not chosen:
        raise RuleViolation(
            "Choose the doses brought back.", code="return_doses_required", field="dose_ids"
        )
    count = whole_ampoules(
        units, field="units", what="brought back", unit=f"{supply.section.form}s"
    )
    witness = witness_confirm(
        witness_username=witness_username,
        witness_password=witness_password,
        nurse=received_by,
        clinic=supply.clinic,
        now=now,
        permission="dosing.witness_cd_destruction",
        may_witness="the destruction of controlled drugs: an authorised witness is needed",
    )
    with transaction.atomic():
        # The person's row lock serialises returns for them. A dose is append-only: the
        # app's database role may not lock it FOR UPDATE (no UPDATE right there).
        ServiceUser.objects.select_for_update().get(pk=supply.service_user_id)
        doses = list(
            TakeHomeDose.objects.filter(supply=supply, pk__in=chosen).select_related("session")
        )
        if len(doses) != len(chosen):
            raise RuleViolation(
                "Choose doses of this supply only.", code="return_doses_invalid", field="dose_ids"
            )
        most = sum(dose.units for dose in doses)
        if count > most:
            raise RuleViolation(
                f"Those doses were {supply.section.count(most)}: no more can come back.",
                code="return_units_too_many",
                field="units",
            )
        returned = TakeHomeReturn.objects.create(
            service_user_id=supply.service_user_id,
            supply=supply,
            units=count,
            received_by=received_by,
            witness=witness,
            received_at=now,
            note=(note or "").strip(),
        )
        try:
            with transaction.atomic():
                TakeHomeReturnedDose.objects.bulk_create(
                    TakeHomeReturnedDose(returned=returned, dose=dose) for dose in doses
                )
        except IntegrityError as error:
            raise Conflict(
                "One of those doses was recorded as brought back already. Reload the page.",
                code="dose_returned_already",
            ) from error
        _sessions_back(supply.service_user_id, doses, received_by, now)
        days = ", ".join(f"{d.clinic_day:%-d %b} {d.slot_code}" for d in doses)
        register_append(
            supply.section,
            kind=EntryKind.RETURNED,
            by=received_by,
            now=now,
            ampoules=count,
            take_home_return=returned,
            witness=witness,
            refusal_field="units",
            note=f"Brought back unused by {supply.service_user.full_name}: {days}; "
            f"{supply.section.count(count)}, destroyed. Not returned to stock.",
        )
    return returned


def _sessions_back(
    service_user_id: int, doses: list[TakeHomeDose], by: "User", now: dt.datetime
) -> None:
    """A returned dose's session: not taken if its window has closed (missed), the
    room's again if it is still to come; then the consecutive count."""
    ids = [dose.session_id for dose in doses]
    sessions = DoseSession.objects.filter(pk__in=ids, status=SessionStatus.TAKE_HOME)
    sessions.filter(closes_at__lte=now).update(
        status=SessionStatus.MISSED,
        status_changed_at=now,
        outcome_reason="returned",
        outcome_note="The take-home dose was brought back unused.",
        outcome_by=by,
    )
    sessions.filter(closes_at__gt=now).update(
        status=SessionStatus.SCHEDULED, status_changed_at=now, outcome_reason="", outcome_by=None
    )
    history_snapshot(
        DoseSession.objects.filter(pk__in=ids),
        reason="Take-home dose brought back unused",
        when=now,
        user=by,
    )
    _tolerance_recount(service_user_id)
    consecutive_counts_apply(ServiceUser.objects.filter(pk=service_user_id), now=now)


def _tolerance_recount(service_user_id: int) -> None:
    """Tolerance lasts the re-titration days after the last dose really taken: the
    last injection, or the last take-home dose not brought back. A supply moved it
    on; a return may move it back."""
    person = ServiceUser.objects.select_related("clinic").get(pk=service_user_id)
    injected = Administration.objects.filter(session__service_user=person).aggregate(
        last=Max("injected_at")
    )["last"]
    taken_home = DoseSession.objects.filter(
        service_user=person, status=SessionStatus.TAKE_HOME
    ).aggregate(last=Max("closes_at"))["last"]
    last = max((t for t in (injected, taken_home) if t is not None), default=None)
    if last is None:
        return
    days = policy_in_force(clinic=person.clinic, at=last).retitration_days
    ServiceUser.objects.filter(pk=person.pk).update(
        tolerance_lapses_at=last + dt.timedelta(days=days)
    )
