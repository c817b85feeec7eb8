"""The controlled drugs register in the browser: a page per section laid out like a
paper register, printable, with its forms and a CSV export."""

from decimal import Decimal

from django import forms
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters

from core.csv_export import csv_response
from core.forms import Done, form_page
from core.roles import staff_name
from eligibility.access import What, access_record
from eligibility.selectors import current_clinic, for_staff

from .models import EntryKind, RegisterEntry, RegisterSection
from .register import (
    ENTRY_PERMISSIONS,
    MAX_STRENGTH_MG,
    register_record,
    register_section_add,
    section_entry,
)
from .register_ledger import MAX_AMPOULES

TEXT = {"class": "form-control"}


def sections_for_staff(user):
    return for_staff(RegisterSection.objects, user).select_related("clinic")


def register_entries(section):
    return section.entries.select_related(
        "recorded_by", "witness", "session__service_user", "corrects"
    ).order_by("sequence")


def _ampoules(label="Ampoules", min_value=1):
    return forms.IntegerField(
        label=label,
        min_value=min_value,
        max_value=MAX_AMPOULES,
        widget=forms.NumberInput(attrs=TEXT),
    )


class ReceiptForm(forms.Form):
    ampoules = _ampoules()
    supplier_name = forms.CharField(
        max_length=RegisterEntry._meta.get_field("supplier_name").max_length,
        widget=forms.TextInput(attrs=TEXT),
    )
    supplier_address = forms.CharField(widget=forms.Textarea(attrs={**TEXT, "rows": 2}))
    batch = forms.CharField(
        max_length=RegisterEntry._meta.get_field("batch").max_length,
        widget=forms.TextInput(attrs=TEXT),
    )
    expiry = forms.DateField(widget=forms.DateInput(attrs={"type": "date", **TEXT}))


class WitnessedForm(forms.Form):
    note = forms.CharField(widget=forms.TextInput(attrs=TEXT))
    witness_username = forms.CharField(
        label="Witness's username",
        max_length=150,  # a username's length
        widget=forms.TextInput(attrs={**TEXT, "autocomplete": "off"}),
    )
    witness_password = forms.CharField(
        label="Witness's password",
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "new-password"}),
    )


class DestructionForm(WitnessedForm):
    ampoules = _ampoules("Ampoules destroyed")
    field_order = ["ampoules", "note", "witness_username", "witness_password"]


class WasteForm(WitnessedForm):
    ampoules = _ampoules("Ampoules opened and wasted")
    field_order = ["ampoules", "note", "witness_username", "witness_password"]


class StockCheckForm(forms.Form):
    counted_ampoules = _ampoules("Ampoules counted", min_value=0)
    note = forms.CharField(required=False, widget=forms.TextInput(attrs=TEXT))


class CorrectionForm(forms.Form):
    entry = forms.IntegerField(
        label="Entry number", min_value=1, widget=forms.NumberInput(attrs=TEXT)
    )
    note = forms.CharField(widget=forms.Textarea(attrs={**TEXT, "rows": 2}))

    def field_for(self, service_field):
        # The page names the entry corrected by its number.
        return "entry" if service_field == "corrects" else service_field


# Each kind's form and title; who may record it is register.ENTRY_PERMISSIONS.
ACTIONS = {
    EntryKind.RECEIPT: (ReceiptForm, "Record a receipt"),
    EntryKind.WASTE: (WasteForm, "Record waste"),
    EntryKind.DESTRUCTION: (DestructionForm, "Record a destruction"),
    EntryKind.STOCK_CHECK: (StockCheckForm, "Record a stock check"),
    EntryKind.CORRECTION: (CorrectionForm, "Add a correction"),
}


class SectionForm(forms.Form):
    """A section for a strength the clinic has not held yet (managers)."""

    strength_mg = forms.DecimalField(
        label="Strength (mg per ampoule)",
        min_value=Decimal("0.01"),
        max_value=MAX_STRENGTH_MG,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )
    form = forms.CharField(
        initial="ampoule",
        max_length=RegisterSection._meta.get_field("form").max_length,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    supplies_doses = forms.BooleanField(
        label="Supplies the doses given in the dosing room",
        required=False,
        help_text="One section does: each dose drawn is taken out of it.",
    )


@permission_required("dosing.view_registersection", raise_exception=True)
def register_index(request):
    """Each section's balance; a manager opens a section for a new strength."""
    clinic = current_clinic(request)
    may_open = request.user.has_perm("dosing.add_registersection")
    if request.method == "POST" and not may_open:
        raise PermissionDenied("Only a manager opens a register section.")
    form = SectionForm(request.POST or None)

    def save(data):
        section = register_section_add(clinic=clinic, **data)
        return Done("register-index", f"The register has a section for {section}.")

    return form_page(
        request,
        form,
        save=save,
        template="dosing/register_index.html",
        context={
            "sections": sections_for_staff(request.user).filter(clinic=clinic),
            "may_open": may_open,
        },
    )


def _section(request, pk):
    section = get_object_or_404(sections_for_staff(request.user), pk=pk)
    if not request.user.has_perm("dosing.view_registerentry"):
        raise PermissionDenied("Your role cannot read the register.")
    return section


def register_page(request, pk):
    section = _section(request, pk)
    return render(
        request,
        "dosing/register_page.html",
        {
            "section": section,
            "entries": register_entries(section),
            "actions": [
                (kind.value, title)
                for kind, (_, title) in ACTIONS.items()
                if request.user.has_perm(ENTRY_PERMISSIONS[kind])
            ],
        },
    )


@sensitive_post_parameters("witness_password")
def register_action(request, pk, kind):
    section = _section(request, pk)
    if kind not in ACTIONS:
        raise PermissionDenied("No such register entry.")
    form_class, title = ACTIONS[kind]
    if not request.user.has_perm(ENTRY_PERMISSIONS[kind]):
        raise PermissionDenied(
            "Your role cannot receive stock."
            if kind == EntryKind.RECEIPT
            else "Your role cannot record register entries."
        )
    form = form_class(request.POST or None)

    def save(data):
        if kind == EntryKind.CORRECTION:  # the page names the entry by its number
            data = {**data, "corrects": section_entry(section, sequence=data.pop("entry"))}
        entry = register_record(section=section, kind=kind, by=request.user, **data)
        return (
            f"Entry {entry.sequence} recorded: {entry.get_kind_display().lower()}. "
            f"Balance {section.count(entry.balance_ampoules)}."
        )

    return form_page(
        request,
        form,
        save=save,
        template="dosing/register_form.html",
        context={"section": section, "title": title},
        done_url=reverse("register-page", args=[section.pk]),
    )


def register_csv(request, pk):
    section = _section(request, pk)
    access_record(request, What.CSV_EXPORT, export=f"CD register: {section}")
    return csv_response(
        f"cd-register-{section.clinic_id}-{section.pk}.csv",
        [
            "entry",
            "date and time",
            "kind",
            "from or to",
            "in (ampoules)",
            "out (ampoules)",
            "balance (ampoules)",
            "in (mg)",
            "out (mg)",
            "balance (mg)",
            "recorded by",
            "witness",
            "batch",
            "expiry",
            "counted (ampoules)",
            "counted (mg)",
            "waste (mg)",
            "corrects entry",
            "now reads (mg)",
            "note",
        ],
        (
            [
                entry.sequence,
                timezone.localtime(entry.occurred_at).isoformat(),
                entry.get_kind_display(),
                party(entry),
                entry.ampoules_in,
                entry.ampoules_out,
                entry.balance_ampoules,
                entry.quantity_in_mg,
                entry.quantity_out_mg,
                entry.balance_mg,
                staff_name(entry.recorded_by) if entry.recorded_by else "",
                staff_name(entry.witness) if entry.witness else "",
                entry.batch,
                entry.expiry or "",
                "" if entry.counted_ampoules is None else entry.counted_ampoules,
                "" if entry.counted_mg is None else entry.counted_mg,
                "" if entry.waste_mg is None else entry.waste_mg,
                entry.corrects.sequence if entry.corrects else "",
                "" if entry.corrected_mg is None else entry.corrected_mg,
                entry.note,
            ]
            for entry in register_entries(section)
        ),
    )


def party(entry: RegisterEntry) -> str:
    """The register's "received from or supplied to" column."""
    if entry.kind == EntryKind.RECEIPT:
        return f"{entry.supplier_name}, {entry.supplier_address}".replace("\n", ", ")
    if entry.session_id:
        person = entry.session.service_user
        return f"{person.full_name} (NHS {person.nhs_number})"
    return ""
