"""The installation's clinics (issue 18.1): an installation administrator lists them
and opens a new one with its first manager."""

from django.contrib.auth.decorators import permission_required
from django.db.models import Count, Prefetch, Q

from core.forms import Done, form_page
from core.roles import Role

from .clinic_setup import clinic_open
from .forms import ClinicOpenForm
from .models import Clinic, StaffMembership


def all_clinics():
    """Every clinic of the installation, with its number of staff and its managers, in
    two queries."""
    managers = (
        StaffMembership.objects.active()
        .filter(roles__name=Role.MANAGER.value)
        .select_related("user")
        .order_by("user__last_name", "user__first_name")
    )
    return Clinic.objects.annotate(
        staff=Count("memberships", filter=Q(memberships__deactivated_at__isnull=True))
    ).prefetch_related(Prefetch("memberships", queryset=managers, to_attr="managers"))


@permission_required("eligibility.add_clinic", raise_exception=True)
def clinics(request):
    """The list, and the form that opens a clinic."""
    form = ClinicOpenForm(request.POST or None)

    def save(data):
        clinic, manager = clinic_open(opened_by=request.user, **data)
        return Done(
            "clinics",
            f"{clinic.name} is open, with the standard policy and an empty register. "
            f"{manager.get_full_name() or manager.username} is its manager: they add the "
            "staff, the policy, pharmacies and the register's stock.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="eligibility/clinics.html",
        context={"clinics": all_clinics()},
    )
