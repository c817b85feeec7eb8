"""The alert inbox: open alerts by severity, each acknowledged with a note."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from hat_clinic.errors import Conflict, RuleViolation

from .alerts import alert_acknowledge
from .models import AlertKind, Severity
from .selectors import alerts_for_staff

ACKNOWLEDGED_SHOWN_FOR = dt.timedelta(days=7)


def _inbox_context(request, *, errors=None):
    if request.clinic is None:
        raise PermissionDenied("You are not on a clinic's staff.")
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
        "kinds": AlertKind.choices,
        "kind": kind,
        "errors": errors or {},
        "can_acknowledge": request.user.has_perm("monitoring.acknowledge_alert"),
    }


@permission_required("monitoring.view_alert", raise_exception=True)
def inbox(request):
    return render(request, "monitoring/inbox.html", _inbox_context(request))


@require_POST
@permission_required("monitoring.acknowledge_alert", raise_exception=True)
def acknowledge(request, pk):
    alert = get_object_or_404(alerts_for_staff(request.user), pk=pk)
    try:
        alert_acknowledge(alert=alert, by=request.user, note=request.POST.get("note", ""))
    except Conflict as conflict:  # before RuleViolation, its base class
        messages.warning(request, conflict.message)
        return redirect("alert-inbox")
    except RuleViolation as refusal:
        context = _inbox_context(request, errors={alert.pk: refusal.message})
        return render(request, "monitoring/inbox.html", context, status=400)
    messages.success(request, f"Acknowledged: {alert.get_kind_display()}.")
    return redirect("alert-inbox")
