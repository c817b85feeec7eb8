"""The dosing room in the browser: the board, and one page per session. Thin: each
action is a form that calls one service. A refusal re-renders the page with status
400, the message beside its field and every value kept but the witness password;
"already recorded" is a 409 with the page as it now is."""

import datetime as dt
import re

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.debug import sensitive_post_parameters

from core.errors import Conflict
from core.forms import Done, add_refusal, form_page
from eligibility.models import StaffMembership, Status
from eligibility.panels import Panel
from eligibility.selectors import current_clinic
from eligibility.settling import settle_for_staff

from .amendments import AMENDABLE, session_amend
from .assessment import assessment_outcome_message, session_assess
from .effective import Injection, ObservationAsRead, effective_values
from .missed import settle_service_user
from .models import OPEN_SESSION_STATUSES, Amendment, Assessment, DoseSession, SessionStatus
from .room import (
    RETITRATION_NEXT_STEP,
    dose_administer,
    session_decline,
    session_observe,
    session_withhold,
)
from .room_forms import (
    AmendForm,
    AssessForm,
    DeclineForm,
    InjectionForm,
    ObserveForm,
    WithholdForm,
    on_day,
)
from .selectors import (
    adverse_events,
    board_sessions,
    current_slot,
    dose_moment,
    dose_sessions_for_staff,
    open_moment,
    prescription_in_force,
)

# A slot code as policies write them (AM, PM, EVE...): anything else is not a slot.
SLOT_CODE = re.compile(r"[A-Za-z0-9_-]{1,12}")


@permission_required("dosing.view_dosesession", raise_exception=True)
def board(request):
    current_clinic(request)
    now = timezone.now()
    # The board shows what the rules say now, whenever the scan last ran: the clinic's
    # closed windows are settled first, by the scan's own code.
    settle_for_staff(request.user, now=now)
    day, slot = current_slot(clinic=request.clinic, now=now)
    errors = {}
    asked_day = request.GET.get("date") or ""
    if _is_date(asked_day):
        day = parse_date(asked_day)
    elif asked_day:
        errors["date"] = f"Give the day as a date: showing {day:%d %b %Y}."
    asked = request.GET.get("slot") or ""
    if asked and SLOT_CODE.fullmatch(asked):
        slot = asked
    elif asked:
        errors["slot"] = f"There is no slot {asked[:12]!r}: showing {slot or 'none'}."
    sessions = (
        board_sessions(clinic=request.clinic, day=day, slot_code=slot, now=now) if slot else []
    )
    for session in sessions:
        # As they now read, corrections applied.
        session.injections = [Injection(a) for a in session.administrations.all()]
    context = {
        "sessions": sessions,
        "day": day,
        "slot": slot,
        "now": now,
        "closes_at": sessions[0].closes_at if sessions else None,
        "counts": _counts(sessions),
        "errors": errors,
    }
    template = "dosing/_board_rows.html" if request.htmx else "dosing/board.html"
    return render(request, template, context, status=400 if errors else 200)


@permission_required("dosing.view_dosesession", raise_exception=True)
def session_photo(request, pk):
    """The photo of a session's service user, for the identity check: served to the
    staff of the clinic the session is in, which for a guest is the host. Never cached."""
    session = get_object_or_404(
        DoseSession.objects.filter(
            clinic__in=StaffMembership.objects.clinic_ids_in_scope(request.user)
        ).select_related("service_user"),
        pk=pk,
    )
    photo = session.service_user.photo
    if not photo:
        raise Http404("No photo")
    response = FileResponse(photo.open("rb"))
    response["Cache-Control"] = "private, no-store"
    return response


def _is_date(value) -> bool:
    try:
        return bool(value) and parse_date(value) is not None
    except ValueError:  # well formed but no such day, e.g. 2026-02-30
        return False


def _counts(sessions):
    done = {SessionStatus.ADMINISTERED, SessionStatus.OBSERVED}
    guests_away = sum(1 for s in sessions if s.status == SessionStatus.GUEST)
    return {
        "expected": len(sessions) - guests_away,
        "away": guests_away,
        "dosed": sum(1 for s in sessions if s.status in done),
        "waiting": sum(1 for s in sessions if s.status in OPEN_SESSION_STATUSES),
    }


# Each action: the permission it needs and its form.
ACTIONS = {
    "assess": ("dosing.assess", AssessForm),
    "administer": ("dosing.administer", InjectionForm),
    "topup": ("dosing.administer", InjectionForm),
    "withhold": ("dosing.administer", WithholdForm),
    "decline": ("dosing.administer", DeclineForm),
    "observe": ("dosing.observe", ObserveForm),
    "amend": ("dosing.amend", AmendForm),
}
DONE = {
    "administer": "Injection recorded. Observation has started.",
    "topup": "Top-up recorded.",
    "withhold": "Dose withheld.",
    "decline": "Recorded as declined.",
    "observe": "Observation recorded: the session is complete.",
    "amend": "Correction recorded beside the original.",
}


# Every field: the witness password's name carries the form's prefix (amend-…-1-), and
# the rest is clinical data that an error report has no need of either.
@sensitive_post_parameters()
def session_page(request, pk):
    now = timezone.now()
    session = get_object_or_404(dose_sessions_for_staff(request.user, now=now), pk=pk)
    if not request.user.has_perm("dosing.view_dosesession"):
        raise PermissionDenied("You cannot see dose sessions.")
    # The page and any refusal read the person as the rules now have them, whenever
    # the missed-dose scan last ran.
    if settle_service_user(session.service_user_id, now=now):
        session = dose_sessions_for_staff(request.user, now=now).get(pk=pk)
    if request.method != "POST":
        return _render(request, session, now=now)
    action = request.POST.get("action", "")
    if action not in ACTIONS or not request.user.has_perm(ACTIONS[action][0]):
        raise PermissionDenied("Your role cannot do this in the dosing room.")
    form = _form(action, session, data=request.POST)
    if form is None:
        messages.error(request, "There is no such record on this session to correct.")
        return _render(request, session, now=now, status=400)

    def save(data):
        level, message = _perform(action, session, request.user, form, now=now)
        return Done(
            reverse("dose-session", args=[session.pk]),
            message,
            level=getattr(messages, level.upper()),
        )

    def refused(form, refusal):
        if isinstance(refusal, Conflict):
            # A colleague got there first: the session as it now is, with what was typed.
            messages.warning(request, refusal.message)
            fresh = dose_sessions_for_staff(request.user, now=now).get(pk=pk)
            return _render(request, fresh, now=now, bound=(action, form), status=409)
        if refusal.code == "prescription_changed":
            # Carry the version now in force, which the page shows, so that the dose can
            # be checked against it and recorded again.
            data = form.data.copy()
            version = _version_now(session, now)
            data[form.add_prefix("prescription")] = str(version.pk) if version else ""
            form = _form(action, session, data=data)
            form.is_valid()
            add_refusal(form, refusal)
            return _render(request, session, now=now, bound=(action, form), status=400)
        return None

    return form_page(
        request,
        form,
        save=save,
        refused=refused,
        page=lambda form: _render(request, session, now=now, bound=(action, form)),
    )


def _version_now(session, now):
    """The prescription version a dose recorded now is checked against, or None."""
    return prescription_in_force(service_user=session.service_user, at=open_moment(session, now))


def _form(action, session, *, data=None, version_now=None):
    """The action's form: bound to what was sent, or unbound with its starting values
    (an injection's carries ``version_now``, the version it will be checked against).
    A correction's form is the record's (its ``record`` and ``sequence``); None if the
    session has no such record."""
    if action == "assess":
        return AssessForm(data, prefix="assess", alcohol_flagged=session.service_user.flag_alcohol)
    if action in ("administer", "topup"):
        return InjectionForm(
            data, prefix=action, initial={"prescription": version_now.pk if version_now else None}
        )
    if action == "amend":
        source = data if data is not None else {}
        return _amend_form(session, source.get("record", ""), source.get("sequence", ""), data)
    return {"withhold": WithholdForm, "decline": DeclineForm, "observe": ObserveForm}[action](
        data, prefix=action
    )


def _amend_form(session, record, sequence, data=None):
    """The correction form the page posted: its hidden ``record`` and ``sequence`` name
    one of the session's records, or None."""
    for known, seq, _ in _amendable_records(session):
        if (known, str(seq or "")) == (record, sequence):
            return _amend_form_for(session, known, seq, data=data)
    return None


def _amendable_records(session):
    """Each record of the session that can be corrected: (record, sequence, label).
    A deferred session has an assessment for each time it was assessed."""
    rows = []
    assessments = list(session.assessments.all())
    for a in assessments:
        label = "Assessment" if len(assessments) == 1 else f"Assessment at {a.assessed_at:%H:%M}"
        rows.append((Amendment.Record.ASSESSMENT, a.sequence, label))
    for a in session.administrations.all():
        rows.append((Amendment.Record.ADMINISTRATION, a.sequence, INJECTION_LABEL[a.sequence]))
    if getattr(session, "observation", None) is not None:
        rows.append((Amendment.Record.OBSERVATION, None, "Observation"))
    if session.outcome_by_id or session.outcome_note:
        rows.append((Amendment.Record.OUTCOME, None, "Outcome note"))
    return rows


INJECTION_LABEL = {1: "Injection", 2: "Top-up"}


def _amend_form_for(session, record, sequence, *, data=None):
    original, earlier = _record_and_amendments(session, record, sequence)
    fields = AMENDABLE[record]
    return AmendForm(
        data,
        prefix=f"amend-{record}-{sequence or 1}",
        record=record,
        sequence=sequence,
        fields=fields,
        current=effective_values(original, earlier, fields),
        zone=session.clinic.zone,
    )


def _record_and_amendments(session, record, sequence):
    amendments = [a for a in session.amendments.all() if a.record == record]
    if record == Amendment.Record.ASSESSMENT:
        original = next(a for a in session.assessments.all() if a.sequence == sequence)
        return original, [a for a in amendments if a.assessment_id == original.pk]
    if record == Amendment.Record.OBSERVATION:
        return session.observation, amendments
    if record == Amendment.Record.ADMINISTRATION:
        original = next(a for a in session.administrations.all() if a.sequence == sequence)
        return original, [a for a in amendments if a.administration_id == original.pk]
    return session, amendments


def _perform(action, session, user, form, *, now) -> tuple[str, str]:
    """Call the action's service; the message level and text to show after it."""
    data = form.cleaned_data
    if action == "assess":
        assessment = session_assess(
            session=session,
            nurse=user,
            identity_confirmed=data["identity_confirmed"],
            poss=data["poss"],
            breath_mcg_per_100ml=data.get("breath_mcg_per_100ml") or None,
            caution_reason=data["caution_reason"],
            defer=data["decision"] == "defer",
            now=now,
        )
        level = {
            Assessment.Decision.PROCEED: "success",
            Assessment.Decision.DEFER: "warning",
            Assessment.Decision.WITHHOLD: "error",
        }[assessment.decision]
        return level, assessment_outcome_message(assessment, session)
    if action in ("administer", "topup"):
        dose_administer(
            session=session,
            nurse=user,
            topup=action == "topup",
            drawn_mg=data["drawn_mg"],
            injected_mg=data["injected_mg"],
            route=data["route"],
            site=data["site"],
            risk_discussion=data["risk_discussion"],
            witness_username=data["witness_username"],
            witness_password=data["witness_password"],
            prescription=data.get("prescription"),
            now=now,
        )
    elif action == "withhold":
        session_withhold(session=session, nurse=user, reason=data["reason"], note=data["note"])
    elif action == "decline":
        session_decline(session=session, nurse=user, note=data["note"])
    elif action == "observe":
        session_observe(
            session=session,
            observer=user,
            outcome=data["outcome"],
            details=data["details"],
            over_sedation=data["over_sedation"],
            overdose=data["overdose"],
            ambulance_called=data["ambulance_called"],
            naloxone_mg=data["naloxone_mg"] or None,
            naloxone_at=on_day(session.clinic_day, data["naloxone_at"], session.clinic.zone),
            now=now,
        )
    elif action == "amend":
        session_amend(
            session=session,
            amended_by=user,
            record=form.record,
            sequence=form.sequence,
            changes=form.changes(session.clinic_day),
            reason=data["reason"],
            witness_username=data.get("witness_username", ""),
            witness_password=data.get("witness_password", ""),
            now=now,
        )
    return "success", DONE[action]


def _render(request, session, *, now, bound=None, status=200):
    """The session page, with the forms its state allows; ``bound`` is the action and
    form just refused, shown with its values and errors."""
    can = {name: request.user.has_perm(perm) for name, (perm, _) in ACTIONS.items()}
    version_now = _version_now(session, now)
    shown_at = dose_moment(session, now)
    # The version the page shows: the one a dose now is checked against, or for a
    # session dosed already, the one its first injection was given under.
    prescription = (
        version_now
        if shown_at == open_moment(session, now)
        else prescription_in_force(service_user=session.service_user, at=shown_at)
    )
    bound_action, bound_form = bound or (None, None)

    def form(action):
        if bound_action == action:
            return bound_form
        return _form(action, session, version_now=version_now)

    injection_action = None
    if session.status == SessionStatus.ASSESSED and can["administer"]:
        injection_action = "administer"
    elif (
        session.status == SessionStatus.ADMINISTERED
        and can["topup"]
        and len(session.administrations.all()) == 1
        and version_now is not None
        and version_now.topup_max_mg
    ):
        # Checked against the version in force when it is given, which may be newer
        # than the one the first injection was given under.
        injection_action = "topup"
    amend_forms = []
    if can["amend"]:
        for record, sequence, label in _amendable_records(session):
            refused = (
                bound_form
                if bound_action == "amend"
                and (bound_form.record, bound_form.sequence) == (record, sequence)
                else None
            )
            amend_forms.append((label, refused or _amend_form_for(session, record, sequence)))
    injections = [Injection(a, _amendments_of(session, a)) for a in session.administrations.all()]
    observation = getattr(session, "observation", None)
    observe_from = None
    if injections:
        observe_from = max(i.injected_at for i in injections) + dt.timedelta(
            minutes=session.policy.observation_minutes
        )
    return render(
        request,
        "dosing/session.html",
        {
            "session": session,
            "person": session.service_user,
            "prescription": prescription,
            "slot_dose": prescription.dose_for(session.slot_code) if prescription else None,
            "blocked": session.service_user.status == Status.RETITRATION_REQUIRED,
            "blocked_next_step": RETITRATION_NEXT_STEP,
            "observe_from": observe_from,
            "injections": injections,
            "observation": _observation_as_read(session, observation),
            "assess_form": form("assess")
            if session.status in (SessionStatus.SCHEDULED, SessionStatus.DEFERRED) and can["assess"]
            else None,
            "injection_action": injection_action,
            "topup_under": version_now
            if injection_action == "topup" and version_now != prescription
            else None,
            "injection_form": form(injection_action) if injection_action else None,
            "observe_form": form("observe")
            if session.status == SessionStatus.ADMINISTERED and can["observe"]
            else None,
            "withhold_form": form("withhold") if can["withhold"] else None,
            "decline_form": form("decline") if can["decline"] else None,
            "open": session.status in OPEN_SESSION_STATUSES,
            "amend_forms": amend_forms,
            "amend_open": bound_action == "amend",
            "now": now,
        },
        status=status,
    )


def _amendments_of(session, administration):
    return [a for a in session.amendments.all() if a.administration_id == administration.pk]


def _observation_as_read(session, observation):
    """The observation as it now reads (corrections applied) for the session page."""
    if observation is None:
        return None
    return ObservationAsRead.of(
        observation,
        [a for a in session.amendments.all() if a.record == Amendment.Record.OBSERVATION],
    )


# The service user's page lists this many of the latest adverse events; the timeline
# has every one.
ADVERSE_EVENTS_SHOWN = 10


def adverse_events_panel(request, service_user) -> Panel | None:
    """The latest adverse events after a dose, on the service user's page, as the
    observations now read: shown only when there are any, so that they stand out."""
    if not request.user.has_perm("dosing.view_dosesession"):
        return None
    events = adverse_events(
        sessions=DoseSession.objects.filter(service_user=service_user),
        limit=ADVERSE_EVENTS_SHOWN,
    )
    if not events:
        return None
    return Panel("dosing/_adverse_events_panel.html", {"events": events, "person": service_user})
