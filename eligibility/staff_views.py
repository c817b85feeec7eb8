"""The staff pages (issue 18.2): the clinic's staff with their roles, last login and
second factor; a manager adds or invites a person, changes their roles, takes them off
the staff and gives them a link to set a new password. The one-time link's page,
where an invited or reset person sets their password, needs no login."""

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from core.forms import Done, form_page
from core.roles import staff_name

from . import second_factor
from .forms import SetPasswordForm, StaffAddForm, StaffDeactivateForm, StaffRolesForm
from .selectors import current_clinic
from .staff import (
    LINK_GONE,
    link_for,
    link_use,
    outside_refusal,
    password_reset_link,
    staff_add,
    staff_deactivate,
    staff_roles_change,
)


@permission_required("eligibility.view_staffmembership", raise_exception=True)
def staff_list(request):
    """The clinic's staff, with their roles, last login and second factor, and the
    form that adds a person (managers)."""
    clinic = current_clinic(request)
    may_add = request.user.has_perm("eligibility.add_staffmembership")
    if request.method == "POST" and not may_add:
        raise PermissionDenied
    form = StaffAddForm(request.POST or None)

    @sensitive_variables("key")
    def save(data):
        membership, key = staff_add(clinic=clinic, added_by=request.user, **data)
        name = staff_name(membership.user)
        if key is None:
            return Done("staff-list", f"{name} is on the staff of {clinic.name}.")
        return _link_page(request, membership, key, invited=True)

    everyone = list(second_factor.staff_of([clinic]))
    may_reset = request.user.has_perm("eligibility.reset_second_factor")
    known = second_factor.StaffList([m.user_id for m in everyone], request.user)
    for membership in everyone:
        membership.may_reset = may_reset and not second_factor.reset_refusal(
            user=membership.user, by=request.user, staff=known
        )
    return form_page(
        request,
        form,
        save=save,
        template="eligibility/staff.html",
        context={
            "staff": [m for m in everyone if m.deactivated_at is None],
            "off_staff": [m for m in everyone if m.deactivated_at is not None],
            "may_add": may_add,
        },
    )


def _membership(request, pk):
    """A membership of the clinic the manager is working in; another clinic's is a 404."""
    return get_object_or_404(second_factor.staff_of([current_clinic(request)]), pk=pk)


@permission_required("eligibility.change_staffmembership", raise_exception=True)
def staff_detail(request, pk):
    """One member of staff: their roles here (changed with a reason), taking them off
    the staff, and a link to set a new password."""
    membership = _membership(request, pk)
    stopping = request.method == "POST" and "off-reason" in request.POST
    roles = StaffRolesForm(
        None if stopping else (request.POST or None),
        initial={"roles": [group.name for group in membership.roles.all()]},
        prefix="roles",
    )
    off = StaffDeactivateForm(request.POST if stopping else None, prefix="off")
    refusal = outside_refusal(user=membership.user, by=request.user)

    def page(form):
        return render(
            request,
            "eligibility/staff_detail.html",
            {
                "membership": membership,
                "roles_form": roles,
                "off_form": off,
                "reset_refusal": refusal.message if refusal else None,
                "history": membership.history.select_related("history_user").order_by(
                    "-history_date", "-history_id"
                )[:20],
            },
        )

    name = staff_name(membership.user)
    if stopping:

        def save_off(data):
            staff_deactivate(membership=membership, by=request.user, reason=data["reason"])
            return Done("staff-list", f"{name} is off the staff of {membership.clinic.name}.")

        return form_page(request, off, save=save_off, page=page)

    def save_roles(data):
        staff_roles_change(
            membership=membership,
            roles=data["roles"],
            changed_by=request.user,
            reason=data["reason"],
        )
        return Done(reverse("staff-detail", args=[membership.pk]), f"{name}'s roles are changed.")

    return form_page(request, roles, save=save_roles, page=page)


@permission_required("eligibility.change_staffmembership", raise_exception=True)
def staff_password_reset(request, pk):
    """A one-time link for the person to set a new password: asked to confirm, then
    shown once. A refusal (their own account, an administrator's, someone who also
    works where this manager does not manage) stands on the page instead."""
    membership = _membership(request, pk)
    form = forms.Form(request.POST if request.method == "POST" else None)

    @sensitive_variables("key")
    def save(data):
        key = password_reset_link(membership=membership, by=request.user)
        return _link_page(request, membership, key, invited=False)

    return form_page(
        request,
        form,
        save=save,
        template="eligibility/staff_password_reset.html",
        context={"membership": membership},
    )


def _link_page(request, membership, key, *, invited: bool):
    """The link, shown once: only its hash is kept."""
    return render(
        request,
        "eligibility/staff_link.html",
        {
            "membership": membership,
            "link": request.build_absolute_uri(reverse("staff-link", args=[key])),
            "expires_at": timezone.now() + _lifetime(),
            "invited": invited,
        },
    )


def _lifetime():
    return settings.STAFF_LINK_LIFETIME


@login_not_required
@sensitive_post_parameters("new_password1", "new_password2")
def staff_link(request, key):
    """Where an invited or reset member of staff sets their password. An expired,
    used or unknown link says so, and who to ask."""
    link = link_for(key)
    if link is None:
        return render(request, "registration/staff_link.html", {"gone": LINK_GONE}, status=410)
    form = SetPasswordForm(request.POST or None)

    def save(data):
        user = link_use(key=key, password=data["new_password1"])
        return Done(
            "login",
            f"Your password is set, {user.get_short_name() or user.username}. Log in with it: "
            "the first time, you also set up an authenticator app.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="registration/staff_link.html",
        context={"person": link.user, "clinic": link.clinic, "invited": link.kind == "invite"},
    )
