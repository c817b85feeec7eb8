"""The landing page and the clinic switcher."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from dosing.register import register_balances
from eligibility.models import Status
from eligibility.selectors import status_counts
from eligibility.views import service_user_for

from .middleware import CURRENT_CLINIC_KEY
from .timeline import KIND_LABELS, timeline


def home(request):
    counts = status_counts(clinic=request.clinic) if request.clinic else {}
    show_register = request.clinic and request.user.has_perm("dosing.view_registersection")
    return render(
        request,
        "home.html",
        {
            "status_counts": [
                (value, label, counts.get(value, 0)) for value, label in Status.choices
            ],
            "register_sections": register_balances(clinic=request.clinic) if show_register else [],
        },
    )


@require_POST
def clinic_switch(request):
    try:
        clinic_id = int(request.POST.get("clinic", ""))
    except ValueError as error:
        raise Http404("No such clinic") from error
    clinic = next((c for c in request.staff_clinics if c.pk == clinic_id), None)
    if clinic is None:
        raise Http404("No such clinic")
    request.session[CURRENT_CLINIC_KEY] = clinic.pk
    messages.success(request, f"You are now working in {clinic.name}.")
    return redirect("home")


def service_user_timeline(request, pk):
    """Everything that happened to the person, newest first, filterable by kind."""
    person = service_user_for(
        request, pk, "eligibility.view_serviceuser", "Your role cannot see service users."
    )
    kinds = [k for k in request.GET.getlist("kind") if k in KIND_LABELS]
    before = parse_datetime(request.GET.get("before", "") or "")
    events, more = timeline(person, kinds=kinds or None, before=before)
    return render(
        request,
        "timeline.html",
        {
            "service_user": person,
            "events": events,
            "older": events[-1].at.isoformat() if more and events else None,
            "kinds": KIND_LABELS.items(),
            "chosen": kinds,
        },
    )
