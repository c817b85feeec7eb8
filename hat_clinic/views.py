"""The landing page and the clinic switcher."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from eligibility.models import Status
from eligibility.selectors import status_counts

from .middleware import CURRENT_CLINIC_KEY


def home(request):
    counts = status_counts(clinic=request.clinic) if request.clinic else {}
    return render(
        request,
        "home.html",
        {
            "status_counts": [
                (value, label, counts.get(value, 0)) for value, label in Status.choices
            ]
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
