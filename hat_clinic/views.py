"""The landing page, the clinic switcher, the favicon and changing one's password."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from core.errors import in_record_years
from dosing.register_checks import register_balances
from eligibility.access import What, access_record
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


@login_not_required
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the icon,
    without a login, so the log-in page gets it too and no request ends in a 404."""
    return redirect(static("favicon.svg"))


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
    before = _instant(request.GET.get("before", ""))
    refused = request.GET.get("before") and before is None
    events, more = timeline(person, viewer=request.user, kinds=kinds or None, before=before)
    access_record(request, What.TIMELINE, service_user=person)
    return render(
        request,
        "timeline.html",
        {
            "service_user": person,
            "events": events,
            "older": events[-1].at.isoformat() if more and events else None,
            "kinds": KIND_LABELS.items(),
            "chosen": kinds,
            "refused": "The timeline's 'before' is not a date and time it gave; "
            "the newest events are shown."
            if refused
            else "",
        },
        status=400 if refused else 200,
    )


def _instant(value: str) -> dt.datetime | None:
    """An ISO date and time (as the Older link gives), or None for anything else: a
    string that is not one, a day that does not exist (2026-02-30), or a year outside
    the records' (0001, 9999), which cannot be compared with them in UTC."""
    try:
        instant = parse_datetime(value)
    except ValueError:
        return None
    if instant is None or not in_record_years(instant):
        return None
    return instant if timezone.is_aware(instant) else timezone.make_aware(instant)


class PasswordChange(auth_views.PasswordChangeView):
    """Staff change their own password: the current one, then the new one twice. The
    password rules apply (AUTH_PASSWORD_VALIDATORS); the session stays logged in."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Your password is changed.")
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response
