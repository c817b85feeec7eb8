"""Prescribing pages. Thin: scope, check the role, call the service, render."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.forms import Done, form_page
from eligibility.access import What, access_record
from eligibility.models import Status
from eligibility.selectors import policy_in_force, service_users_for_staff
from eligibility.services import titration_complete as titration_complete_service
from eligibility.settling import settle_for_staff
from eligibility.views import service_user_for

from .exit_plans import (
    reducing_plan_activate,
    reducing_plan_cancel,
    reducing_plan_create,
    service_closure_record,
)
from .forms import ClosureForm, ExitPlanForm, MethadoneForm, PrescriptionForm, ReviewForm
from .models import Pharmacy, ReducingPlan, ServiceClosure
from .prescribing import (
    PRESCRIBABLE,
    methadone_prescribe,
    prescription_cancel,
    prescription_issue,
)
from .reviews import review_record
from .selectors import (
    methadone_in_force,
    prescription_in_force,
    prescription_versions,
    prescriptions_for_staff,
    retitration_suggestion,
    review_queue,
    review_summary,
)
from .sessions import session_unscheduled_add


def _not_in_treatment(request, service_user):
    """A prescription, methadone or exit-plan page for someone the service would refuse
    whatever was typed (not admitted, or gone): the page says so and offers no form,
    and a POST is a 400 with the same words. None when the person may be prescribed
    for."""
    if service_user.status in PRESCRIBABLE:
        return None
    return render(
        request,
        "dosing/not_in_treatment.html",
        {"service_user": service_user},
        status=400 if request.method == "POST" else 200,
    )


def _prescriber_scope(request, service_user_id):
    return service_user_for(
        request,
        service_user_id,
        "dosing.prescribe",
        "Only prescribers can change prescriptions or exit plans.",
    )


@permission_required("dosing.view_prescription", raise_exception=True)
def prescription_list(request, pk):
    service_user = get_object_or_404(service_users_for_staff(request.user), pk=pk)
    access_record(request, What.PRESCRIPTIONS, service_user=service_user)
    return _prescription_page(request, service_user)


def _prescription_page(request, service_user, refused: dict | None = None):
    """The prescriptions page; ``refused`` is a refusal of one of its small forms (which,
    for which record, the message), shown beside that form's reason with a 400."""
    current = prescription_in_force(service_user=service_user)
    return render(
        request,
        "dosing/prescription_list.html",
        {
            "service_user": service_user,
            "versions": prescription_versions(service_user=service_user),
            "current": current,
            "methadone": methadone_in_force(service_user=service_user),
            "plans": service_user.reducing_plans.order_by("-created_at"),
            "now": timezone.now(),
            "methadone_versions": service_user.methadone_prescriptions.select_related(
                "pharmacy", "prescriber"
            ).order_by("-valid_from", "-version"),
            "can_prescribe": request.user.has_perm("dosing.prescribe"),
            "can_complete_titration": request.user.has_perm("eligibility.change_status")
            and service_user.status in (Status.TITRATION, Status.RETITRATION),
            "refused": refused or {},
        },
        status=400 if refused else 200,
    )


def prescription_new(request, pk):
    service_user = service_user_for(
        request, pk, "dosing.prescribe", "Only prescribers can issue a prescription."
    )
    if refused := _not_in_treatment(request, service_user):
        return refused
    policy = policy_in_force(clinic=service_user.clinic)
    slot_codes = [slot.code for slot in policy.slots.all()]
    current = prescription_in_force(service_user=service_user)
    initial = {}
    if current:
        initial = {f"dose_{d.slot_code}": d.dose_mg for d in current.slot_doses.all()}
        initial.update(
            route_iv=current.route_iv,
            route_im=current.route_im,
            topup_max_mg=current.topup_max_mg or "",
        )
    suggestion = {}
    if service_user.status == Status.RETITRATION_REQUIRED:
        suggestion = retitration_suggestion(service_user=service_user)
        initial.update({f"dose_{code}": dose for code, dose in suggestion.items()})
    form = PrescriptionForm(request.POST or None, slot_codes=slot_codes, initial=initial)

    def save(data):
        prescription = prescription_issue(
            service_user=service_user,
            prescriber=request.user,
            slot_doses=form.slot_doses(),
            route_iv=data["route_iv"],
            route_im=data["route_im"],
            topup_max_mg=data["topup_max_mg"] or None,
            max_daily_total_mg=data["max_daily_total_mg"] or None,
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            documented_transfer=data["documented_transfer"],
            transfer_service=data["transfer_service"],
            transfer_last_dose_mg=data["transfer_last_dose_mg"] or None,
            transfer_last_dose_on=data["transfer_last_dose_on"],
            transfer_confirmed_by=data["transfer_confirmed_by"],
            reason=data["reason"],
            clinical_reason=data["clinical_reason"],
        )
        return (
            f"Prescription version {prescription.version} issued for {service_user.display_name}."
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/prescription_form.html",
        context={
            "service_user": service_user,
            "current": current,
            "policy": policy,
            "suggestion": suggestion,
        },
        done_url=reverse("prescription-list", args=[service_user.pk]),
    )


@require_POST
def titration_complete(request, pk):
    """The prescriber judges the dose stable: titration or re-titration ends."""
    service_user = service_user_for(
        request, pk, "eligibility.change_status", "Only prescribers can mark titration complete."
    )
    return _small_form(
        request,
        service_user.pk,
        f"{service_user.display_name} is now on maintenance.",
        lambda reason: titration_complete_service(
            service_user=service_user,
            prescriber=request.user,
            reason=reason,
        ),
        form="titration",
    )


@permission_required("dosing.view_review", raise_exception=True)
def review_queue_page(request):
    settle_for_staff(request.user)
    rows = review_queue(clinic=request.clinic) if request.clinic else []
    counts = {
        state: sum(1 for row in rows if row.review_state == state)
        for state in ("overdue", "due", "done")
    }
    return render(request, "dosing/review_queue.html", {"rows": rows, "counts": counts})


def review_new(request, pk):
    service_user = service_user_for(
        request, pk, "dosing.add_review", "Only prescribers record reviews."
    )
    policy = policy_in_force(clinic=service_user.clinic)
    form = ReviewForm(request.POST or None, slot_codes=[s.code for s in policy.slots.all()])

    def save(data):
        review = review_record(
            service_user=service_user,
            prescriber=request.user,
            decision=data["decision"],
            notes=data["notes"],
            slot_doses=form.slot_doses(),
            topup_max_mg=data["topup_max_mg"] or None,
            clinical_reason=data["clinical_reason"],
        )
        issued = (
            f" Prescription version {review.prescription.version} issued."
            if review.prescription
            else ""
        )
        return (
            f"Review of {service_user.display_name} recorded: "
            f"{review.get_decision_display()}.{issued}"
        )

    return form_page(
        request,
        form,
        save=save,
        # The week's summary is read only when the page is shown, not after a save.
        page=lambda form: render(
            request,
            "dosing/review_form.html",
            {
                "service_user": service_user,
                "form": form,
                "summary": review_summary(service_user=service_user),
            },
        ),
        done_url=reverse("review-queue"),
    )


def methadone_new(request, pk):
    service_user = service_user_for(
        request, pk, "dosing.prescribe", "Only prescribers can prescribe methadone."
    )
    if refused := _not_in_treatment(request, service_user):
        return refused
    current = methadone_in_force(service_user=service_user)
    form = MethadoneForm(
        request.POST or None,
        pharmacies=Pharmacy.objects.filter(clinic=service_user.clinic, active=True),
        initial={"nightly_dose_mg": current.nightly_dose_mg, "pharmacy": current.pharmacy}
        if current
        else {},
    )

    def save(data):
        version = methadone_prescribe(
            service_user=service_user,
            prescriber=request.user,
            nightly_dose_mg=data["nightly_dose_mg"],
            pharmacy=data["pharmacy"],
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
            reason=data["reason"],
        )
        return (
            f"Methadone version {version.version} issued: "
            f"{version.nightly_dose_mg} mg nightly from {version.pharmacy}."
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/methadone_form.html",
        context={"service_user": service_user, "current": current},
        done_url=reverse("prescription-list", args=[service_user.pk]),
    )


def exit_plan_new(request, pk):
    service_user = _prescriber_scope(request, pk)
    if refused := _not_in_treatment(request, service_user):
        return refused
    form = ExitPlanForm(
        request.POST or None, initial={"starts_at": timezone.localtime() + dt.timedelta(weeks=1)}
    )

    def save(data):
        plan = reducing_plan_create(service_user=service_user, created_by=request.user, **data)
        return (
            f"Exit plan active: {plan.versions.count()} future "
            "versions issued. Each can be cancelled before it starts."
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/exit_plan_form.html",
        context={"service_user": service_user},
        done_url=reverse("prescription-list", args=[service_user.pk]),
    )


def _plan_for_prescriber(request, plan_id) -> ReducingPlan:
    plan = get_object_or_404(
        ReducingPlan.objects.filter(service_user__in=service_users_for_staff(request.user)),
        pk=plan_id,
    )
    _prescriber_scope(request, plan.service_user_id)
    return plan


@require_POST
def exit_plan_activate(request, plan_id):
    plan = _plan_for_prescriber(request, plan_id)
    return _small_form(
        request,
        plan.service_user_id,
        "Exit plan activated.",
        lambda reason: reducing_plan_activate(plan=plan, prescriber=request.user),
    )


@require_POST
def exit_plan_cancel(request, plan_id):
    plan = _plan_for_prescriber(request, plan_id)
    return _small_form(
        request,
        plan.service_user_id,
        "Exit plan stopped; its future versions are cancelled.",
        lambda reason: reducing_plan_cancel(plan=plan, cancelled_by=request.user, reason=reason),
        form="plan-cancel",
        record=plan.pk,
    )


@require_POST
def prescription_cancel_view(request, prescription_id):
    prescription = get_object_or_404(prescriptions_for_staff(request.user), pk=prescription_id)
    _prescriber_scope(request, prescription.service_user_id)
    return _small_form(
        request,
        prescription.service_user_id,
        f"Version {prescription.version} cancelled: it will not take effect.",
        lambda reason: prescription_cancel(
            prescription=prescription,
            cancelled_by=request.user,
            reason=reason,
        ),
        form="cancel",
        record=prescription.pk,
    )


class ReasonForm(forms.Form):
    """The reason typed beside a small form's button (the service says when it is needed)."""

    reason = forms.CharField(required=False)


def _small_form(request, service_user_id, success: str, action, *, form="", record=None):
    """A small form of the prescriptions page, through the one form helper: a refusal of
    its reason is shown beside the reason (400); a refusal of the whole action, and a
    success, are shown on the page after a redirect. ``action(reason)`` does it."""
    done = reverse("prescription-list", args=[service_user_id])

    def save(data):
        action(data.get("reason", ""))
        return Done(done, success)

    def refused(bound, refusal):
        if form and refusal.field == "reason":
            return None  # shown beside the reason
        messages.error(request, refusal.message)
        return redirect(done)

    def page(bound):
        service_user = get_object_or_404(service_users_for_staff(request.user), pk=service_user_id)
        message = " ".join([*bound.errors.get("reason", []), *bound.non_field_errors()])
        typed = bound.data.get("reason", "")
        return _prescription_page(
            request,
            service_user,
            {"form": form, "record": record, "message": message, "reason": typed},
        )

    bound = ReasonForm(request.POST) if form else forms.Form(request.POST)
    return form_page(request, bound, save=save, refused=refused, page=page)


def _drafts_waiting(count: int) -> str:
    if count == 1:
        return "1 draft exit plan awaits a prescriber."
    return f"{count} draft exit plans await a prescriber."


@permission_required("dosing.add_serviceclosure", raise_exception=True)
def service_closure(request):
    form = ClosureForm(request.POST or None)

    def save(data):
        closure = service_closure_record(clinic=request.clinic, recorded_by=request.user, **data)
        return Done(
            "service-closure",
            f"Closure on {closure.closes_on:%d %b %Y} recorded. "
            + _drafts_waiting(closure.plans.count()),
            warning="This is less than six months' notice: service users were promised six months."
            if closure.short_notice
            else "",
        )

    closures = (
        ServiceClosure.objects.filter(clinic=request.clinic)
        .select_related("recorded_by")
        .annotate(drafts=Count("plans"))
    )
    return form_page(
        request,
        form,
        save=save,
        template="dosing/service_closure.html",
        context={"closures": closures},
    )


class UnscheduledSessionForm(forms.Form):
    slot_code = forms.ChoiceField(
        label="The dose of slot",
        widget=forms.RadioSelect,
        help_text="The session gives this slot's prescribed dose, and takes its place today.",
    )
    reason = forms.CharField(
        max_length=500,
        help_text="Why today, outside the schedule: kept in the session's history.",
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def __init__(self, *args, slot_codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot_code"].choices = [(code, code) for code in slot_codes]


def session_unscheduled_new(request, pk):
    """A prescriber adds a session for today (an admission day, a first dose outside
    the slots): it opens now, in the dosing room, and follows every rule of a scheduled
    session."""
    service_user = _prescriber_scope(request, pk)
    if refused := _not_in_treatment(request, service_user):
        return refused
    current = prescription_in_force(service_user=service_user)
    slot_codes = [d.slot_code for d in current.slot_doses.all()] if current else []
    form = UnscheduledSessionForm(
        request.POST or None,
        slot_codes=slot_codes,
        initial={"slot_code": slot_codes[0]} if slot_codes else {},
    )

    def save(data):
        session = session_unscheduled_add(
            service_user=service_user, prescriber=request.user, **data
        )
        return Done(
            reverse("dose-session", args=[session.pk]),
            f"{service_user.display_name}'s {session.slot_code} session is open now, until "
            f"{timezone.localtime(session.closes_at):%H:%M}.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/session_new.html",
        context={"service_user": service_user, "prescription": current},
    )
