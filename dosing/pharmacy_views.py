"""The clinic's community pharmacies (issue 18.4): everyone on the staff reads the
list, as methadone prescriptions name them; a manager adds one, changes its contact
details and stops using it, each kept in its history with who and why."""

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render

from core.forms import Done, form_page
from eligibility.selectors import current_clinic

from .forms import PharmacyChangeForm, PharmacyDeactivateForm, PharmacyForm
from .models import Pharmacy
from .prescribing import pharmacy_add, pharmacy_deactivate, pharmacy_update

FIELDS = ("name", "address", "ods_code", "phone")


@permission_required("dosing.view_pharmacy", raise_exception=True)
def pharmacies(request):
    clinic = current_clinic(request)
    if request.method == "POST" and not request.user.has_perm("dosing.add_pharmacy"):
        raise PermissionDenied
    form = PharmacyForm(request.POST or None)

    def save(data):
        pharmacy = pharmacy_add(clinic=clinic, by=request.user, **data)
        return Done("pharmacies", f"{pharmacy.name} added.")

    return form_page(
        request,
        form,
        save=save,
        template="dosing/pharmacies.html",
        context={"pharmacies": Pharmacy.objects.filter(clinic=clinic).order_by("-active", "name")},
    )


@permission_required("dosing.change_pharmacy", raise_exception=True)
def pharmacy_detail(request, pk):
    """Change a pharmacy's details, or stop using it: two forms on one page."""
    pharmacy = get_object_or_404(Pharmacy, pk=pk, clinic=current_clinic(request))
    stopping = request.method == "POST" and "stop-reason" in request.POST
    change = PharmacyChangeForm(
        None if stopping else (request.POST or None),
        initial={name: getattr(pharmacy, name) for name in FIELDS},
        prefix="change",
    )
    stop = PharmacyDeactivateForm(request.POST if stopping else None, prefix="stop")

    def page(form):
        return render(
            request,
            "dosing/pharmacy_detail.html",
            {"pharmacy": pharmacy, "change": change, "stop": stop},
        )

    if stopping:

        def save_stop(data):
            pharmacy_deactivate(pharmacy=pharmacy, by=request.user, reason=data["reason"])
            return Done("pharmacies", f"{pharmacy.name} is no longer used by the clinic.")

        return form_page(request, stop, save=save_stop, page=page)

    def save_change(data):
        changed = pharmacy_update(pharmacy=pharmacy, by=request.user, **data)
        return Done("pharmacies", f"The details of {changed.name} are changed.")

    return form_page(request, change, save=save_change, page=page)
