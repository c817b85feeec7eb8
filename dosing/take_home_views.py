"""The take-home page of a service user: whether they meet the clinic's criteria,
each with its evidence, and the take-home prescription's versions; and the form a
prescriber writes the next version on. Thin: scope, call, render."""

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone

from core.forms import Done, form_page
from eligibility.access import What, access_record
from eligibility.selectors import policy_in_force, service_users_for_staff
from eligibility.views import service_user_for

from .missed import settle_service_user
from .models import TakeHomeDose, TakeHomeSupply
from .selectors import prescription_in_force
from .take_home import take_home_barrier, take_home_prescribe, take_home_versions
from .take_home_criteria import take_home_eligibility
from .take_home_forms import (
    TakeHomeLossForm,
    TakeHomePrescriptionForm,
    TakeHomeReturnForm,
    TakeHomeSupplyForm,
)
from .take_home_lapses import suspended, take_home_lapse, take_home_loss_report
from .take_home_returns import take_home_return
from .take_home_supply import default_through, planned_doses, take_home_supply


def _service_user(request, pk, permission: str, refusal: str):
    """The service user (404 outside the caller's clinics, then 403 for the role), their
    missed sessions settled first, so that the status read is today's."""
    service_user = service_user_for(request, pk, permission, refusal)
    settle_service_user(service_user.pk, now=timezone.now())
    service_user.refresh_from_db()
    return service_user


def _not_now(request, service_user, barrier: str):
    """Refused whatever was typed: the page says why and offers no form; a POST is a
    400 saying the same."""
    return render(
        request,
        "dosing/take_home_not_now.html",
        {"service_user": service_user, "barrier": barrier},
        status=400 if request.method == "POST" else 200,
    )


def _supply(request, supply_id, permission: str, refusal: str) -> TakeHomeSupply:
    """A supply of the caller's clinics (else 404), then the role check (403)."""
    supply = get_object_or_404(
        TakeHomeSupply.objects.select_related("service_user", "clinic", "section", "prescription"),
        pk=supply_id,
        service_user__in=service_users_for_staff(request.user),
    )
    if not request.user.has_perm(permission):
        raise PermissionDenied(refusal)
    return supply


def take_home(request, pk):
    service_user = _service_user(
        request, pk, "dosing.view_prescription", "Only clinical staff see take-home."
    )
    access_record(request, What.TAKE_HOME, service_user=service_user)
    lapse = _lapse_now(service_user)
    return render(
        request,
        "dosing/take_home.html",
        {
            "service_user": service_user,
            "eligibility": take_home_eligibility(service_user=service_user),
            "versions": take_home_versions(service_user=service_user),
            "supplies": TakeHomeSupply.objects.filter(service_user=service_user)
            .select_related("section", "supplied_by", "witness")
            .prefetch_related(
                Prefetch("doses", queryset=TakeHomeDose.objects.select_related("returned"))
            )
            .order_by("-supplied_at"),
            "can_prescribe": request.user.has_perm("dosing.prescribe"),
            "lapse": lapse,
            "lapse_said": suspended(lapse) if lapse else "",
        },
    )


def _lapse_now(service_user):
    """Why take-home is suspended now, if it is: a lapse of the version in force, or,
    between versions, of the latest."""
    now = timezone.now()
    version = take_home_versions(service_user=service_user).first()
    return take_home_lapse(version=version, now=now) if version else None


def take_home_prescription_new(request, pk):
    service_user = _service_user(
        request, pk, "dosing.prescribe", "Only prescribers write take-home prescriptions."
    )
    barrier = take_home_barrier(service_user)
    if not barrier and prescription_in_force(service_user=service_user) is None:
        barrier = (
            f"{service_user.display_name} has no clinic prescription in force: take-home "
            "doses are part of it. Prescribe that first."
        )
    if barrier:
        return _not_now(request, service_user, barrier)
    slots = [slot.code for slot in policy_in_force(clinic=service_user.clinic).slots.all()]
    today = service_user.clinic.clinic_day_of(timezone.now())
    form = TakeHomePrescriptionForm(request.POST or None, slot_codes=slots, today=today)

    def save(data):
        issued = take_home_prescribe(service_user=service_user, prescriber=request.user, **data)
        return Done(
            reverse("take-home", args=[service_user.pk]),
            f"Take-home version {issued.version} is prescribed: {issued.doses_per_week} doses "
            f"a week from {issued.valid_from:%-d %b %Y} to {issued.valid_to:%-d %b %Y}.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/take_home_form.html",
        context={
            "service_user": service_user,
            "eligibility": take_home_eligibility(service_user=service_user),
        },
    )


def take_home_supply_new(request, pk):
    service_user = _service_user(
        request, pk, "dosing.supply_take_home", "Only nurses supply take-home doses."
    )
    now = timezone.now()
    if barrier := take_home_barrier(service_user):
        return _not_now(request, service_user, barrier)
    if lapse := _lapse_now(service_user):
        return _not_now(request, service_user, suspended(lapse))
    through = default_through(service_user=service_user, now=now)
    form = TakeHomeSupplyForm(request.POST or None, through=through)

    def save(data):
        supply = take_home_supply(service_user=service_user, nurse=request.user, **data)
        return Done(
            reverse("take-home-labels", args=[supply.pk]),
            f"{supply.doses.count()} take-home doses supplied: "
            f"{supply.section.count(supply.units)}, witnessed. Print their labels; "
            f"{service_user.display_name} is due back on {supply.next_visit:%-d %b %Y}.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/take_home_supply_form.html",
        context={
            "service_user": service_user,
            "planned": planned_doses(service_user=service_user, through=through, now=now),
        },
    )


def take_home_labels(request, supply_id):
    """A label for each dose of a supply: for a 70 x 36 mm label printer, or A4."""
    supply = _supply(
        request, supply_id, "dosing.view_prescription", "Only clinical staff print labels."
    )
    paper = "a4" if request.GET.get("paper") == "a4" else "label"
    return render(
        request,
        "dosing/take_home_labels.html",
        {
            "supply": supply,
            "labels": list(supply.doses.order_by("clinic_day", "session__opens_at")),
            "paper": paper,
            "paper_css": "css/labels-a4.css" if paper == "a4" else "css/labels-70x36.css",
        },
    )


def take_home_loss_new(request, supply_id):
    """A nurse reports a supply lost or stolen: the incident, which suspends take-home."""
    given = _supply(
        request,
        supply_id,
        "dosing.supply_take_home",
        "Only nurses report a take-home supply lost or stolen.",
    )
    form = TakeHomeLossForm(request.POST or None)

    def save(data):
        take_home_loss_report(supply=given, reported_by=request.user, **data)
        return Done(
            reverse("take-home", args=[given.service_user.pk]),
            "Recorded. Take-home is suspended and the prescriber is alerted.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/take_home_loss_form.html",
        context={"supply": given, "service_user": given.service_user},
    )


def take_home_return_new(request, supply_id):
    """A nurse records unused doses brought back, destroyed before an authorised witness."""
    given = _supply(
        request,
        supply_id,
        "dosing.supply_take_home",
        "Only nurses record take-home doses brought back.",
    )
    doses = given.doses.filter(returned__isnull=True).order_by("clinic_day", "slot_code")
    form = TakeHomeReturnForm(request.POST or None, doses=doses)

    def save(data):
        returned = take_home_return(supply=given, received_by=request.user, **data)
        count = returned.doses.count()
        return Done(
            reverse("take-home", args=[given.service_user.pk]),
            f"{count} dose{'s' if count != 1 else ''} brought back: "
            f"{given.section.count(returned.units)}, destroyed and witnessed.",
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/take_home_return_form.html",
        context={"supply": given, "service_user": given.service_user},
    )
