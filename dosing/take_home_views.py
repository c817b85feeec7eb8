"""The take-home page of a service user: whether they meet the clinic's criteria,
each with its evidence. Thin: scope, call, render."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from eligibility.access import What, access_record
from eligibility.selectors import service_user_in_scope

from .take_home_criteria import take_home_eligibility


def take_home(request, pk):
    service_user = service_user_in_scope(request.user, pk=pk)
    if not request.user.has_perm("dosing.view_prescription"):
        raise PermissionDenied("Only clinical staff see take-home.")
    access_record(request, What.TAKE_HOME, service_user=service_user)
    return render(
        request,
        "dosing/take_home.html",
        {
            "service_user": service_user,
            "eligibility": take_home_eligibility(service_user=service_user),
        },
    )
