"""Pages about service users and the clinic's policy. Thin: scope, call, render."""

import datetime as dt

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from core.forms import Done, form_page

from .access import What, access_record
from .forms import ChecklistForm, PolicyForm, TakeHomeCriteriaForm
from .models import Status
from .panels import panels_for
from .selectors import (
    current_clinic,
    policy_in_force,
    policy_versions,
    service_user_in_scope,
    service_users_for_staff,
)
from .services import policy_issue
from .settling import settle_for_staff


def service_user_for(request, pk, permission: str, refusal: str):
    """The service user if on the caller's clinics (else 404, so existence never leaks),
    and only then the role check (else 403)."""
    service_user = service_user_in_scope(request.user, pk=pk)
    if not request.user.has_perm(permission):
        raise PermissionDenied(refusal)
    return service_user


def service_user_list(request):
    status = request.GET.get("status", "")
    service_users = service_users_for_staff(request.user).filter(clinic=request.clinic)
    if status in Status.values:
        service_users = service_users.filter(status=status)
    page = Paginator(service_users.order_by("family_name", "given_name", "pk"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "eligibility/service_user_list.html",
        {"page": page, "statuses": Status.choices, "status": status},
    )


ACCESSES_SHOWN = 20


def service_user_detail(request, pk):
    # Another clinic's service user is a 404: its existence must not leak.
    settle_for_staff(request.user)
    service_user = get_object_or_404(service_users_for_staff(request.user), pk=pk)
    status_changes = service_user.status_changes.select_related("changed_by").order_by(
        "-changed_at", "-pk"
    )
    access_record(request, What.RECORD, service_user=service_user)
    return render(
        request,
        "eligibility/service_user_detail.html",
        {
            "service_user": service_user,
            "status_changes": status_changes,
            "panels": panels_for(request, service_user),
            # "Who looked at this record", for managers: the latest, this visit included.
            "accesses": (
                service_user.accesses.select_related("user", "clinic")[:ACCESSES_SHOWN]
                if request.user.has_perm("eligibility.view_accesslog")
                else None
            ),
        },
    )


def service_user_photo(request, pk):
    """Photos are clinical records: served only to the person's clinic staff, never cached."""
    service_user = get_object_or_404(service_users_for_staff(request.user), pk=pk)
    if not service_user.photo:
        raise Http404("No photo")
    response = FileResponse(service_user.photo.open("rb"))
    response["Cache-Control"] = "private, no-store"
    return response


def service_user_history(request, pk):
    """Every saved version of the record: who changed what, when and why."""
    # Scope before permission: another clinic's record is a 404 for everyone.
    service_user = get_object_or_404(service_users_for_staff(request.user), pk=pk)
    if not request.user.has_perm("eligibility.view_audit"):
        raise PermissionDenied("Only managers can read the audit history.")
    access_record(request, What.HISTORY, service_user=service_user)
    records = list(service_user.history.select_related("history_user").order_by("-history_id"))
    changes = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        if older is None:
            diff = []
        else:
            diff = [
                (change.field, change.old, change.new)
                for change in newer.diff_against(older, foreign_keys_are_objs=False).changes
            ]
        changes.append({"record": newer, "diff": diff})
    return render(
        request,
        "eligibility/service_user_history.html",
        {"service_user": service_user, "changes": changes},
    )


@permission_required("eligibility.view_clinicpolicy", raise_exception=True)
def clinic_policy(request):
    versions = list(policy_versions(clinic=request.clinic)) if request.clinic else []
    now = timezone.now()
    in_force = next((v for v in versions if v.effective_from <= now), None)
    coming = [v for v in versions if v.effective_from > now]
    return render(
        request,
        "eligibility/clinic_policy.html",
        {"versions": versions, "in_force": in_force, "next": coming[-1] if coming else None},
    )


@permission_required("eligibility.add_clinicpolicy", raise_exception=True)
def policy_new(request):
    """Managers change any value of the policy, the dose slots among them: a new
    version from a stated time, filled from the version in force."""
    current_clinic(request)
    current = policy_in_force(clinic=request.clinic)
    form = PolicyForm(request.POST or None, current=current)

    def save(data):
        policy = _issue_version(request, data, slots=form.slots(), **form.values())
        starts = timezone.localtime(policy.effective_from, request.clinic.zone)
        return Done("clinic-policy", f"The new policy applies from {starts:%d %b %Y %H:%M}.")

    return form_page(request, form, save=save, template="eligibility/policy_form.html")


@permission_required("eligibility.add_clinicpolicy", raise_exception=True)
def eligibility_checklist(request):
    """Managers set each criterion to required, advisory or off: a new policy version."""
    current_clinic(request)
    current = policy_in_force(clinic=request.clinic)
    form = ChecklistForm(request.POST or None, levels=current.eligibility_levels)

    def save(data):
        _issue_version(request, data, eligibility_levels=form.levels())
        return Done("clinic-policy", "The eligibility checklist is changed from the time given.")

    return form_page(request, form, save=save, template="eligibility/checklist_form.html")


@permission_required("eligibility.add_clinicpolicy", raise_exception=True)
def take_home_criteria(request):
    """Managers set each take-home criterion to required, advisory or off, and the
    numbers they use: a new policy version."""
    current_clinic(request)
    form = TakeHomeCriteriaForm(
        request.POST or None, current=policy_in_force(clinic=request.clinic)
    )

    def save(data):
        _issue_version(request, data, **form.values())
        return Done("clinic-policy", "The take-home criteria are changed from the time given.")

    return form_page(request, form, save=save, template="eligibility/take_home_criteria_form.html")


# The form offers the minute the page was opened. A start typed for the last few
# minutes is that offer, taken while the form was filled in: it means now. Anything
# earlier goes to the service, which refuses a version starting in the past.
OFFERED_FOR = dt.timedelta(minutes=15)


def _issue_version(request, data: dict, **values):
    """A new version of the clinic's policy from the form's start, with its reason."""
    now = timezone.now()  # one instant for the start and the check against it
    return policy_issue(
        clinic=request.clinic,
        issued_by=request.user,
        effective_from=_starts(data["effective_from"], request.clinic, now),
        reason=data["reason"],
        now=now,
        **values,
    )


def _starts(typed: dt.datetime, clinic, now: dt.datetime) -> dt.datetime:
    start = timezone.make_aware(typed, clinic.zone) if timezone.is_naive(typed) else typed
    return now if now - OFFERED_FOR < start <= now else start
