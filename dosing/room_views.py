"""The dosing room in the browser: the board, and one page per session. Thin: each
button calls one service; refusals and "already recorded" are shown on the page."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date

from eligibility.selectors import current_clinic
from hat_clinic.errors import Conflict, RuleViolation

from .amendments import AMENDABLE, session_amend
from .models import Observation, Poss, Route, SessionStatus, Site, WithholdReason
from .room import (
    dose_administer,
    session_assess,
    session_decline,
    session_observe,
    session_withhold,
)
from .selectors import board_sessions, current_slot, dose_sessions_for_staff, prescription_in_force


@permission_required("dosing.view_dosesession", raise_exception=True)
def board(request):
    current_clinic(request)
    now = timezone.now()
    day, slot = current_slot(clinic=request.clinic, now=now)
    day = parse_date(request.GET.get("date", "")) or day
    slot = request.GET.get("slot", slot) or slot
    sessions = board_sessions(clinic=request.clinic, day=day, slot_code=slot) if slot else []
    context = {
        "sessions": sessions,
        "day": day,
        "slot": slot,
        "now": now,
        "closes_at": sessions[0].closes_at if sessions else None,
        "counts": _counts(sessions),
    }
    template = "dosing/_board_rows.html" if request.htmx else "dosing/board.html"
    return render(request, template, context)


def _counts(sessions):
    done = {SessionStatus.ADMINISTERED, SessionStatus.OBSERVED}
    return {
        "expected": len(sessions),
        "dosed": sum(1 for s in sessions if s.status in done),
        "waiting": sum(
            1 for s in sessions if s.status in (SessionStatus.SCHEDULED, SessionStatus.ASSESSED)
        ),
    }


ACTIONS = {
    "assess": "dosing.assess",
    "administer": "dosing.administer",
    "topup": "dosing.administer",
    "withhold": "dosing.administer",
    "decline": "dosing.administer",
    "observe": "dosing.observe",
    "amend": "dosing.amend",
}


def session_page(request, pk):
    session = get_object_or_404(dose_sessions_for_staff(request.user), pk=pk)
    if not request.user.has_perm("dosing.view_dosesession"):
        raise PermissionDenied("You cannot see dose sessions.")
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS or not request.user.has_perm(ACTIONS[action]):
            raise PermissionDenied("Your role cannot do this in the dosing room.")
        try:
            _perform(action, session, request.user, request.POST)
        except Conflict as conflict:
            messages.warning(request, conflict.message)
        except RuleViolation as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, DONE[action])
        return redirect("dose-session", pk=session.pk)
    last = session.administrations.all()
    observe_from = None
    if last:
        observe_from = max(a.injected_at for a in last) + dt.timedelta(
            minutes=session.policy.observation_minutes
        )
    return render(
        request,
        "dosing/session.html",
        {
            "session": session,
            "person": session.service_user,
            "prescription": prescription_in_force(
                service_user=session.service_user, at=session.opens_at
            ),
            "observe_from": observe_from,
            "poss_choices": Poss.choices,
            "route_choices": Route.choices,
            "site_choices": Site.choices,
            "withhold_choices": WithholdReason.choices,
            "observation_choices": Observation.Outcome.choices,
            "amendable": AMENDABLE,
            "can": {name: request.user.has_perm(perm) for name, perm in ACTIONS.items()},
            "now": timezone.now(),
        },
    )


DONE = {
    "assess": "Assessment recorded.",
    "administer": "Injection recorded. Observation has started.",
    "topup": "Top-up recorded.",
    "withhold": "Dose withheld.",
    "decline": "Recorded as declined.",
    "observe": "Observation recorded: the session is complete.",
    "amend": "Correction recorded beside the original.",
}


def _perform(action, session, user, data):
    def flag(name):
        return data.get(name) == "on"

    if action == "assess":
        session_assess(
            session=session,
            nurse=user,
            identity_confirmed=flag("identity"),
            poss=data.get("poss", ""),
            caution_reason=data.get("caution_reason", ""),
            breath_mcg_per_100ml=data.get("breath") or None,
        )
    elif action in ("administer", "topup"):
        dose_administer(
            session=session,
            nurse=user,
            topup=action == "topup",
            drawn_mg=data.get("drawn_mg", ""),
            injected_mg=data.get("injected_mg", ""),
            route=data.get("route", ""),
            site=data.get("site", ""),
            risk_discussion=data.get("risk_discussion", ""),
            witness_username=data.get("witness_username", ""),
            witness_password=data.get("witness_password", ""),
        )
    elif action == "withhold":
        session_withhold(
            session=session, nurse=user, reason=data.get("reason", ""), note=data.get("note", "")
        )
    elif action == "decline":
        session_decline(session=session, nurse=user, note=data.get("note", ""))
    elif action == "amend":
        session_amend(
            session=session,
            amended_by=user,
            record=data.get("record", ""),
            sequence=int(data.get("sequence") or 1),
            changes={data.get("field", ""): data.get("value", "")},
            reason=data.get("reason", ""),
        )
    elif action == "observe":
        session_observe(
            session=session,
            observer=user,
            outcome=data.get("outcome", ""),
            details=data.get("details", ""),
            over_sedation=flag("over_sedation"),
            overdose=flag("overdose"),
            ambulance_called=flag("ambulance_called"),
            naloxone_mg=data.get("naloxone_mg") or None,
        )
