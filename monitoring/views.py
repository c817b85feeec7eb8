"""The alert inbox: open alerts by severity, each acknowledged with a note."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts.models import KIND_ROLES, AlertAddress, AlertKind, Severity
from alerts.selectors import alerts_for_staff, kinds_visible_to
from alerts.services import alert_acknowledge, alert_addresses_set
from core.errors import Conflict
from core.forms import Done, form_page
from core.roles import Role
from dosing.breath import breath_test_record
from eligibility.panels import Panel
from eligibility.selectors import current_clinic
from eligibility.views import service_user_for

from .forms import AlertAddressForm, BreathTestForm, MethadoneCollectionForm, ToxScreenForm
from .records import methadone_collection_record, tox_screen_record
from .selectors import monitoring_summary

ACKNOWLEDGED_SHOWN_FOR = dt.timedelta(days=7)


def _inbox_context(request, *, refused=None):
    current_clinic(request)
    alerts = alerts_for_staff(request.user).filter(clinic=request.clinic)
    kind = request.GET.get("kind", "")
    if kind in AlertKind.values:
        alerts = alerts.filter(kind=kind)
    open_alerts = list(alerts.filter(acknowledged_at__isnull=True))
    groups = [
        (severity, [a for a in open_alerts if a.severity == severity])
        for severity in sorted(Severity, reverse=True)
    ]
    recent = alerts.filter(acknowledged_at__gte=timezone.now() - ACKNOWLEDGED_SHOWN_FOR).order_by(
        "-acknowledged_at"
    )[:50]
    return {
        "groups": [(severity, items) for severity, items in groups if items],
        "open_count": len(open_alerts),
        "recent": recent,
        "kinds": kinds_visible_to(request.user),
        "kind": kind,
        # A refused acknowledgement: which alert, why, and the note as it was typed.
        "refused": refused or {},
        "can_acknowledge": request.user.has_perm("alerts.acknowledge_alert"),
    }


@permission_required("alerts.view_alert", raise_exception=True)
def inbox(request):
    return render(request, "monitoring/inbox.html", _inbox_context(request))


class NoteForm(forms.Form):
    """The note an alert is acknowledged with (the service says when it is missing)."""

    note = forms.CharField(required=False)


@require_POST
@permission_required("alerts.acknowledge_alert", raise_exception=True)
def acknowledge(request, pk):
    alert = get_object_or_404(alerts_for_staff(request.user), pk=pk)

    def save(data):
        alert_acknowledge(alert=alert, by=request.user, note=data["note"])
        return Done("alert-inbox", f"Acknowledged: {alert.get_kind_display()}.")

    def refused(form, refusal):
        if isinstance(refusal, Conflict):  # a colleague acknowledged it first
            messages.warning(request, refusal.message)
            return redirect("alert-inbox")
        return None

    def page(form):
        message = " ".join(said for errors in form.errors.values() for said in errors)
        refused = {"pk": alert.pk, "message": message, "note": form.data.get("note", "")}
        context = _inbox_context(request, refused=refused)
        return render(request, "monitoring/inbox.html", context)

    return form_page(request, NoteForm(request.POST), save=save, refused=refused, page=page)


# The monitoring records, one form each, and the section on the service user's page.


def monitoring_panel(request, service_user) -> Panel | None:
    if not request.user.has_perm("monitoring.view_toxscreen"):
        return None
    summary = monitoring_summary(service_user=service_user, now=timezone.now(), viewer=request.user)
    return Panel("monitoring/_service_user_panel.html", {**summary, "service_user": service_user})


RECORD_PAGES = {
    "tox": ("monitoring.add_toxscreen", "Only nurses record tox screens.", "Record tox screen"),
    "breath": (
        "dosing.add_breathtest",
        "Only nurses and health-care assistants record breath tests.",
        "Record breath test",
    ),
    "methadone": (
        "monitoring.add_methadonecollection",
        "Only nurses record methadone collections.",
        "Record methadone collection",
    ),
}


def _record_page(request, pk, kind, form, save):
    permission, refusal, title = RECORD_PAGES[kind]
    service_user = service_user_for(request, pk, permission, refusal)
    return form_page(
        request,
        form,
        save=lambda data: save(service_user, data),
        template="monitoring/record_form.html",
        context={"service_user": service_user, "title": title, "kind": kind},
        done_url=reverse("service-user-detail", args=[service_user.pk]),
    )


def tox_screen_new(request, pk):
    def save(service_user, data):
        screen = tox_screen_record(
            service_user=service_user,
            recorded_by=request.user,
            sample_date=data["sample_date"],
            results=form.results(),
            notes=data["notes"],
        )
        positive = [
            r.get_substance_display() for r in screen.results.all() if r.result == "positive"
        ]
        return f"Tox screen of {screen.sample_date:%d %b} recorded: " + (
            f"positive for {', '.join(positive)}." if positive else "nothing positive."
        )

    form = ToxScreenForm(request.POST or None)
    return _record_page(request, pk, "tox", form, save)


def breath_test_new(request, pk):
    def save(service_user, data):
        test = breath_test_record(
            service_user=service_user,
            recorded_by=request.user,
            reading=data["reading_mcg_per_100ml"],
            taken_at=data["taken_at"],
        )
        return f"Breath test recorded: {test.reading_mcg_per_100ml:.1f} µg/100 ml."

    return _record_page(request, pk, "breath", BreathTestForm(request.POST or None), save)


def methadone_collection_new(request, pk):
    def save(service_user, data):
        record, created = methadone_collection_record(
            service_user=service_user,
            day=data["day"],
            collected=data["collected"],
            recorded_by=request.user,
            note=data["note"],
        )
        state = "collected" if record.collected else "not collected"
        verb = "recorded" if created else "updated (the earlier report is in the history)"
        return f"Methadone on {record.day:%d %b} {verb}: {state}."

    form = MethadoneCollectionForm(request.POST or None)
    return _record_page(request, pk, "methadone", form, save)


# Roles that alerts are sent to (the pharmacy integration is not told).
ALERTED_ROLES = [Role.NURSE, Role.PRESCRIBER, Role.MANAGER]


@permission_required("alerts.change_alertaddress", raise_exception=True)
def alert_addresses(request):
    current_clinic(request)
    current = dict(AlertAddress.objects.filter(clinic=request.clinic).values_list("role", "email"))
    form = AlertAddressForm(request.POST or None, roles=ALERTED_ROLES, initial=current)
    if request.method == "POST" and form.is_valid():
        alert_addresses_set(clinic=request.clinic, addresses=form.cleaned_data, by=request.user)
        messages.success(request, "Alert e-mail addresses saved.")
        return redirect("alert-addresses")
    return render(
        request,
        "monitoring/alert_addresses.html",
        {"form": form, "kinds_by_role": _kinds_by_role()},
        status=400 if request.method == "POST" else 200,
    )


def _kinds_by_role():
    return {
        role.label: [kind.label for kind, roles in KIND_ROLES.items() if role in roles]
        for role in ALERTED_ROLES
    }
