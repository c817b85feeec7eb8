"""Prescribing pages. Thin: scope, check the role, call the service, render."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import RuleViolation
from core.forms import add_refusal, posted_text
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
from .prescribing import methadone_prescribe, prescription_cancel, prescription_issue
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
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
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
        except RuleViolation as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(
                request,
                f"Prescription version {prescription.version} issued for "
                f"{service_user.display_name}.",
            )
            return redirect("prescription-list", pk=service_user.pk)
    return render(
        request,
        "dosing/prescription_form.html",
        {
            "service_user": service_user,
            "form": form,
            "current": current,
            "policy": policy,
            "suggestion": suggestion,
        },
    )


@require_POST
def titration_complete(request, pk):
    """The prescriber judges the dose stable: titration or re-titration ends."""
    service_user = service_user_for(
        request, pk, "eligibility.change_status", "Only prescribers can mark titration complete."
    )
    return _act(
        request,
        service_user.pk,
        f"{service_user.display_name} is now on maintenance.",
        lambda: titration_complete_service(
            service_user=service_user,
            prescriber=request.user,
            reason=posted_text(request, "reason"),
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
    if request.method == "POST" and form.is_valid():
        try:
            review = review_record(
                service_user=service_user,
                prescriber=request.user,
                decision=form.cleaned_data["decision"],
                notes=form.cleaned_data["notes"],
                slot_doses=form.slot_doses(),
                topup_max_mg=form.cleaned_data["topup_max_mg"] or None,
                clinical_reason=form.cleaned_data["clinical_reason"],
            )
        except RuleViolation as refusal:
            add_refusal(form, refusal)
        else:
            issued = (
                f" Prescription version {review.prescription.version} issued."
                if review.prescription
                else ""
            )
            messages.success(
                request,
                f"Review of {service_user.display_name} recorded: "
                f"{review.get_decision_display()}.{issued}",
            )
            return redirect("review-queue")
    return render(
        request,
        "dosing/review_form.html",
        {
            "service_user": service_user,
            "form": form,
            "summary": review_summary(service_user=service_user),
        },
    )


def methadone_new(request, pk):
    service_user = service_user_for(
        request, pk, "dosing.prescribe", "Only prescribers can prescribe methadone."
    )
    current = methadone_in_force(service_user=service_user)
    form = MethadoneForm(
        request.POST or None,
        pharmacies=Pharmacy.objects.filter(clinic=service_user.clinic),
        initial={"nightly_dose_mg": current.nightly_dose_mg, "pharmacy": current.pharmacy}
        if current
        else {},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = methadone_prescribe(
                service_user=service_user,
                prescriber=request.user,
                nightly_dose_mg=data["nightly_dose_mg"],
                pharmacy=data["pharmacy"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                reason=data["reason"],
            )
        except RuleViolation as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(
                request,
                f"Methadone version {version.version} issued: "
                f"{version.nightly_dose_mg} mg nightly from {version.pharmacy}.",
            )
            return redirect("prescription-list", pk=service_user.pk)
    return render(
        request,
        "dosing/methadone_form.html",
        {"service_user": service_user, "form": form, "current": current},
    )


def exit_plan_new(request, pk):
    service_user = _prescriber_scope(request, pk)
    form = ExitPlanForm(
        request.POST or None, initial={"starts_at": timezone.localtime() + dt.timedelta(weeks=1)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            plan = reducing_plan_create(
                service_user=service_user, created_by=request.user, **form.cleaned_data
            )
        except RuleViolation as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(
                request,
                f"Exit plan active: {plan.versions.count()} future "
                "versions issued. Each can be cancelled before it starts.",
            )
            return redirect("prescription-list", pk=service_user.pk)
    return render(
        request, "dosing/exit_plan_form.html", {"service_user": service_user, "form": form}
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
    return _act(
        request,
        plan.service_user_id,
        "Exit plan activated.",
        lambda: reducing_plan_activate(plan=plan, prescriber=request.user),
    )


@require_POST
def exit_plan_cancel(request, plan_id):
    plan = _plan_for_prescriber(request, plan_id)
    return _act(
        request,
        plan.service_user_id,
        "Exit plan stopped; its future versions are cancelled.",
        lambda: reducing_plan_cancel(
            plan=plan, cancelled_by=request.user, reason=posted_text(request, "reason")
        ),
        form="plan-cancel",
        record=plan.pk,
    )


@require_POST
def prescription_cancel_view(request, prescription_id):
    prescription = get_object_or_404(prescriptions_for_staff(request.user), pk=prescription_id)
    _prescriber_scope(request, prescription.service_user_id)
    return _act(
        request,
        prescription.service_user_id,
        f"Version {prescription.version} cancelled: it will not take effect.",
        lambda: prescription_cancel(
            prescription=prescription,
            cancelled_by=request.user,
            reason=posted_text(request, "reason"),
        ),
        form="cancel",
        record=prescription.pk,
    )


def _act(request, service_user_id, success: str, action, *, form=None, record=None):
    """Run a small form's action on the prescriptions page. A refusal of its reason is
    shown beside the reason (400); a refusal of the whole action, and a success, are
    shown on the page after a redirect."""
    try:
        action()
    except RuleViolation as refusal:
        if form and refusal.field == "reason":
            service_user = get_object_or_404(
                service_users_for_staff(request.user), pk=service_user_id
            )
            refused = {"form": form, "record": record, "message": refusal.message}
            return _prescription_page(request, service_user, refused)
        messages.error(request, refusal.message)
    else:
        messages.success(request, success)
    return redirect("prescription-list", pk=service_user_id)


@permission_required("dosing.add_serviceclosure", raise_exception=True)
def service_closure(request):
    form = ClosureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            closure = service_closure_record(
                clinic=request.clinic, recorded_by=request.user, **form.cleaned_data
            )
        except RuleViolation as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(
                request,
                f"Closure on {closure.closes_on:%d %b %Y} recorded. "
                f"{closure.plans.count()} draft exit plans await a prescriber.",
            )
            if closure.short_notice:
                messages.warning(
                    request,
                    "This is less than six months' notice: service users were promised six months.",
                )
            return redirect("service-closure")
    closures = (
        ServiceClosure.objects.filter(clinic=request.clinic)
        .select_related("recorded_by")
        .annotate(drafts=Count("plans"))
    )
    return render(request, "dosing/service_closure.html", {"form": form, "closures": closures})
