"""The pathway in the browser: referrals, the assessment, the decision, the waiting
list and admission. Thin: each form calls one service; refusals show on the page."""

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import Done, form_page

from .forms import AdmitForm, AssessmentForm, DecisionForm, ReferralForm
from .models import Criterion, Level, ReferralDecision
from .pathway import (
    eligibility_assess,
    places,
    referral_decide,
    referral_record,
    service_user_admit,
    waiting_list,
)
from .pathway_api import referrals_for_staff
from .selectors import clinic_staff, current_clinic, policy_in_force
from .views import service_user_for


@permission_required("eligibility.view_referral", raise_exception=True)
def referral_list(request):
    clinic = current_clinic(request)
    open_referrals = (
        referrals_for_staff(request.user)
        .filter(clinic=clinic, decision="", closed_at__isnull=True)
        .order_by("referral_date", "pk")
    )
    return render(
        request,
        "eligibility/referral_list.html",
        {
            "open_referrals": open_referrals,
            "waiting": list(waiting_list(clinic=clinic)),
            "places": places(clinic=clinic),
        },
    )


def _referral_form_page(request, form, *, service_user=None):
    clinic = service_user.clinic if service_user else current_clinic(request)

    def save(data):
        referral = referral_record(
            clinic=clinic,
            recorded_by=request.user,
            service_user=service_user,
            person=form.person(),
            referred_by=data["referred_by"],
            referral_date=data["referral_date"],
            substance_use_history=data["substance_use_history"],
            treatment_history=data["treatment_history"],
            risk_flags=data["risk_flags"],
            risk_notes=data["risk_notes"],
        )
        return Done(
            reverse("referral-detail", args=[referral.pk]),
            f"Referral of {referral.service_user.display_name} recorded.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="eligibility/referral_form.html",
        context={"service_user": service_user},
    )


@permission_required("eligibility.add_referral", raise_exception=True)
def referral_new(request):
    return _referral_form_page(request, ReferralForm(request.POST or None))


def re_refer(request, pk):
    service_user = service_user_for(
        request, pk, "eligibility.add_referral", "Your role cannot record referrals."
    )
    form = ReferralForm(request.POST or None, re_referral=True)
    return _referral_form_page(request, form, service_user=service_user)


def _checklist(referral):
    levels = policy_in_force(clinic=referral.clinic).eligibility_levels
    return [
        (criterion, Level(levels.get(criterion.value, Level.REQUIRED)))
        for criterion in Criterion
        if levels.get(criterion.value, Level.REQUIRED) != Level.OFF
    ]


def referral_detail(request, pk):
    referral = get_object_or_404(referrals_for_staff(request.user), pk=pk)
    if not request.user.has_perm("eligibility.view_referral"):
        raise PermissionDenied("Your role cannot see referrals.")
    return _detail(request, referral)


def _detail(request, referral, *, forms=None, status=200):
    user = request.user
    undecided = not referral.decision and referral.closed_at is None
    waiting = (
        referral.decision == ReferralDecision.ACCEPTED
        and referral.admitted_at is None
        and referral.closed_at is None
    )
    forms = forms or {}
    context = {
        "referral": referral,
        "assessment": referral.assessments.prefetch_related("answers")
        .select_related("assessed_by")
        .first(),
        "assess_form": forms.get("assess")
        or (
            AssessmentForm(criteria=_checklist(referral))
            if undecided and user.has_perm("eligibility.add_eligibilityassessment")
            else None
        ),
        "decide_form": forms.get("decide")
        or (
            DecisionForm()
            if undecided
            and referral.assessments.exists()
            and user.has_perm("eligibility.decide_referral")
            else None
        ),
        "admit_form": forms.get("admit")
        or (
            AdmitForm(staff=_staff(referral))
            if waiting and user.has_perm("eligibility.admit")
            else None
        ),
        "places": places(clinic=referral.clinic) if waiting else None,
    }
    return render(request, "eligibility/referral_detail.html", context, status=status)


def _staff(referral):
    return clinic_staff(referral.clinic).order_by("first_name", "username")


def _referral_for(request, pk, permission, refusal):
    referral = get_object_or_404(referrals_for_staff(request.user), pk=pk)
    if not request.user.has_perm(permission):
        raise PermissionDenied(refusal)
    return referral


@require_POST
def referral_assess(request, pk):
    referral = _referral_for(
        request, pk, "eligibility.add_eligibilityassessment", "Your role cannot assess eligibility."
    )
    form = AssessmentForm(request.POST, criteria=_checklist(referral))

    def save(data):
        eligibility_assess(
            referral=referral, assessed_by=request.user, answers=form.answers(), notes=data["notes"]
        )
        return Done(
            reverse("referral-detail", args=[referral.pk]), "Eligibility assessment recorded."
        )

    return form_page(
        request,
        form,
        save=save,
        page=lambda form: _detail(request, referral, forms={"assess": form}),
    )


@require_POST
def referral_decide_view(request, pk):
    referral = _referral_for(
        request, pk, "eligibility.decide_referral", "Only prescribers decide eligibility."
    )
    form = DecisionForm(request.POST)

    def save(data):
        referral_decide(referral=referral, prescriber=request.user, **data)
        referral.refresh_from_db()
        return Done(
            reverse("referral-detail", args=[referral.pk]),
            f"{referral.service_user.display_name}: {referral.get_decision_display().lower()}.",
        )

    return form_page(
        request,
        form,
        save=save,
        page=lambda form: _detail(request, referral, forms={"decide": form}),
    )


@require_POST
def referral_admit(request, pk):
    referral = _referral_for(
        request, pk, "eligibility.admit", "Only prescribers admit service users."
    )
    form = AdmitForm(request.POST, staff=_staff(referral))

    def save(data):
        service_user_admit(
            service_user=referral.service_user,
            admitted_by=request.user,
            agreement_signed_on=data["agreement_signed_on"],
            witness=data["witness"],
        )
        return Done(
            reverse("service-user-detail", args=[referral.service_user_id]),
            f"{referral.service_user.display_name} admitted: titration starts with the "
            "first prescription.",
        )

    return form_page(
        request,
        form,
        save=save,
        page=lambda form: _detail(request, referral, forms={"admit": form}),
    )
