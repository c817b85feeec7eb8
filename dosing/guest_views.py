"""The guest-stay pages: a service user's stays, where their prescriber authorises
one; the clinic's stays, guests coming and service users away, where the host's
manager accepts or declines; and ending a stay. Thin: scope, call, render."""

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from core.forms import Done, form_page
from eligibility.selectors import current_clinic
from eligibility.views import service_user_for

from .guest import (
    guest_stay_accept,
    guest_stay_authorise,
    guest_stay_end,
    may_accept,
    may_end,
    who_accepts,
    who_ends,
)
from .guest_forms import GuestStayAcceptForm, GuestStayEndForm, GuestStayForm
from .guest_selectors import stays_for_staff


def guest_stays_of(request, pk):
    """A service user's stays at other clinics; their prescriber authorises the next."""
    service_user = service_user_for(
        request, pk, "dosing.view_gueststay", "Only clinical staff see guest stays."
    )
    can_authorise = request.user.has_perm("dosing.add_gueststay")
    form = GuestStayForm(request.POST or None, home=service_user.clinic)
    if request.method == "POST" and not can_authorise:
        raise PermissionDenied("Only prescribers authorise a guest stay.")

    def save(data):
        stay = guest_stay_authorise(service_user=service_user, prescriber=request.user, **data)
        return Done(
            reverse("guest-stays-of", args=[service_user.pk]),
            f"Guest stay at {stay.host_clinic.name} authorised, "
            f"{stay.first_day:%-d %b} to {stay.last_day:%-d %b %Y}. It takes effect when "
            f"{stay.host_clinic.name}'s manager accepts it.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/guest_stays_of.html",
        context={
            "service_user": service_user,
            "stays": stays_for_staff(request.user).filter(service_user=service_user),
            "can_authorise": can_authorise,
            "today": service_user.clinic.clinic_day_of(timezone.now()),
        },
    )


@permission_required("dosing.view_gueststay", raise_exception=True)
def guest_stays(request):
    """The clinic's stays: guests it hosts, and its own service users away."""
    clinic = current_clinic(request)
    stays = list(
        stays_for_staff(request.user).filter(Q(host_clinic=clinic) | Q(home_clinic=clinic))
    )
    return render(
        request,
        "dosing/guest_stays.html",
        {
            "coming": [s for s in stays if s.host_clinic_id == clinic.pk],
            "away": [s for s in stays if s.home_clinic_id == clinic.pk],
            "today": clinic.clinic_day_of(timezone.now()),
        },
    )


def _stay_here(request, stay_id):
    """A stay of the clinic the page acts in, as home or host (else 404)."""
    clinic = current_clinic(request)
    return get_object_or_404(
        stays_for_staff(request.user).filter(Q(host_clinic=clinic) | Q(home_clinic=clinic)),
        pk=stay_id,
    )


def guest_stay_accept_page(request, stay_id):
    stay = _stay_here(request, stay_id)
    if stay.host_clinic != request.clinic or not may_accept(request.user, stay):
        raise PermissionDenied(who_accepts(stay))
    form = GuestStayAcceptForm(request.POST or None)

    def save(data):
        guest_stay_accept(stay=stay, manager=request.user, **data)
        return Done(
            reverse("guest-stays"),
            f"Accepted: {stay.service_user.display_name} is on this clinic's board from "
            f"{stay.first_day:%-d %b} to {stay.last_day:%-d %b %Y}.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/guest_stay_action.html",
        context={"stay": stay, "action": "accept"},
    )


def guest_stay_end_page(request, stay_id):
    stay = _stay_here(request, stay_id)
    user = request.user
    if not may_end(user, stay):
        raise PermissionDenied(who_ends(stay))
    form = GuestStayEndForm(request.POST or None)
    back = (
        reverse("guest-stays-of", args=[stay.service_user_id])
        if stay.home_clinic == request.clinic
        else reverse("guest-stays")
    )

    def save(data):
        guest_stay_end(stay=stay, by=user, **data)
        return Done(
            back,
            f"The stay at {stay.host_clinic.name} is ended: {stay.service_user.display_name}'s "
            "sessions not yet open are the home clinic's again.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/guest_stay_action.html",
        context={"stay": stay, "action": "end", "back": back},
    )
