"""Suspension, return and exit in the browser, and their section on the service
user's page."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse

from core.forms import form_page
from eligibility.models import Status
from eligibility.panels import Panel
from eligibility.selectors import for_staff
from eligibility.views import service_user_for

from .leaving import SUSPENDABLE, service_user_exit, suspension_end, suspension_start
from .models import ExitDetail, ExitKind, Suspension

DATE = {"type": "date", "class": "form-control"}
AREA = {"class": "form-control", "rows": 2}


def _date(label, required=True):
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs=DATE, format="%Y-%m-%d")
    )


class SuspendForm(forms.Form):
    kind = forms.ChoiceField(choices=Suspension.Kind.choices, widget=forms.RadioSelect)
    starts_on = _date("From")
    expected_end_on = _date("Expected back (if known)", required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs=AREA))


class ReturnForm(forms.Form):
    returned_on = _date("Back on")
    opioid_cover_confirmed = forms.BooleanField(
        label="Opioid cover confirmed for the whole time (prescribers only)", required=False
    )


class ExitForm(forms.Form):
    kind = forms.ChoiceField(choices=ExitKind.choices, widget=forms.RadioSelect)
    detail = forms.ChoiceField(
        choices=ExitDetail.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    exited_on = _date("Exit date")
    reason = forms.CharField(widget=forms.Textarea(attrs=AREA))


def _form_page(request, service_user, form, title, button, call, done):
    def save(data):
        call(data)
        return done

    return form_page(
        request,
        form,
        save=save,
        template="dosing/leaving_form.html",
        context={"service_user": service_user, "title": title, "button": button},
        done_url=reverse("service-user-detail", args=[service_user.pk]),
    )


def suspend(request, pk):
    person = service_user_for(request, pk, "dosing.add_suspension", "Your role cannot suspend.")
    return _form_page(
        request,
        person,
        SuspendForm(request.POST or None),
        f"Suspend {person.display_name}",
        "Suspend",
        lambda data: suspension_start(service_user=person, recorded_by=request.user, **data),
        f"{person.display_name} suspended: sessions are excused until the return is recorded.",
    )


def suspension_return(request, pk):
    suspension = get_object_or_404(
        for_staff(Suspension.objects, request.user, clinic="service_user__clinic").select_related(
            "service_user"
        ),
        pk=pk,
    )
    if not request.user.has_perm("dosing.change_suspension"):
        raise PermissionDenied("Your role cannot record a return.")
    person = suspension.service_user
    return _form_page(
        request,
        person,
        ReturnForm(request.POST or None),
        f"{person.display_name} is back",
        "Record return",
        lambda data: suspension_end(suspension=suspension, ended_by=request.user, **data),
        f"Return of {person.display_name} recorded.",
    )


def exit_page(request, pk):
    person = service_user_for(request, pk, "dosing.add_exit", "Only prescribers record an exit.")
    return _form_page(
        request,
        person,
        ExitForm(request.POST or None),
        f"Exit: {person.display_name}",
        "Record exit",
        lambda data: service_user_exit(service_user=person, recorded_by=request.user, **data),
        f"Exit of {person.display_name} recorded; the place is free.",
    )


def treatment_panel(request, service_user) -> Panel | None:
    """Suspension and exit on the service user's page."""
    if not request.user.has_perm("dosing.view_suspension"):
        return None
    return Panel(
        "dosing/_treatment_panel.html",
        {
            "service_user": service_user,
            "open_suspension": service_user.suspensions.filter(ended_at__isnull=True).first(),
            "can_suspend": service_user.status in SUSPENDABLE,
            "can_exit": service_user.status not in (Status.EXITED, Status.DECLINED),
            "exits": list(service_user.exits.all()),
        },
    )
