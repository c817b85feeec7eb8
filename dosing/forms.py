"""The prescription form. It only collects input: the service decides what is allowed."""

from decimal import Decimal

from django import forms

from core.forms import LocalDateTimeField


def local_time_field(label: str, *, required: bool = False, help_text: str = ""):
    """A date and time typed in the clinic's local time (the browser's datetime-local)."""
    return LocalDateTimeField(label=label, required=required, help_text=help_text)


CLINICAL_REASON_HELP = (
    "Needed for a dose above a limit: a re-titration restart above half the dose before "
    "the lapse, or a maintenance rise above the clinic's step."
)


def clinical_reason_field():
    return forms.CharField(
        label="Clinical reason for a dose above a limit",
        required=False,
        help_text=CLINICAL_REASON_HELP,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


class PrescriptionForm(forms.Form):
    route_iv = forms.BooleanField(label="Intravenous", required=False, initial=True)
    route_im = forms.BooleanField(label="Intramuscular", required=False)
    topup_max_mg = forms.CharField(
        label="Top-up allowance (mg)",
        required=False,
        help_text="Leave empty for no top-up.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    max_daily_total_mg = forms.CharField(
        label="Maximum daily total (mg)",
        required=False,
        help_text="Leave empty to use the day's doses plus top-ups.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    valid_from = local_time_field("Starts", help_text="Leave empty to start now.")
    valid_to = local_time_field("Ends", help_text="Leave empty for no end date.")
    documented_transfer = forms.BooleanField(
        label="Documented transfer on an established dose",
        required=False,
        help_text="Only for a new starter coming from another service on a documented dose: "
        "record its evidence below.",
    )
    transfer_service = forms.CharField(
        label="Transferring from (service)", required=False, max_length=200
    )
    transfer_last_dose_mg = forms.CharField(
        label="Last dose there (mg)",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    transfer_last_dose_on = forms.DateField(
        label="Day of that dose",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Give the day as a date, e.g. 2026-02-09."},
    )
    transfer_confirmed_by = forms.CharField(
        label="Confirmed by",
        required=False,
        max_length=200,
        help_text="Who confirmed the dose, and how.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    clinical_reason = clinical_reason_field()

    def __init__(self, *args, slot_codes: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.slot_codes = slot_codes
        dose_fields = {
            f"dose_{code}": forms.CharField(
                label=f"{code} dose (mg)",
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            )
            for code in slot_codes
        }
        self.fields = {**dose_fields, **self.fields}
        for field in self.fields.values():
            if not isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs.setdefault("class", "form-control")

    def slot_doses(self) -> dict[str, str]:
        return {
            code: self.cleaned_data[f"dose_{code}"]
            for code in self.slot_codes
            if self.cleaned_data.get(f"dose_{code}", "").strip()
        }

    def field_for(self, service_field: str | None) -> str | None:
        """The form field a service refusal is about, so the message shows beside it."""
        if service_field and service_field.startswith("slot_doses."):
            return f"dose_{service_field.split('.', 1)[1]}"
        if service_field == "slot_doses" and self.slot_codes:  # the day's doses together
            return f"dose_{self.slot_codes[0]}"
        return service_field if service_field in self.fields else None


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(widget=forms.RadioSelect, choices=[])
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}))
    topup_max_mg = forms.CharField(
        label="Top-up allowance (mg)",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
    )
    clinical_reason = clinical_reason_field()

    def __init__(self, *args, slot_codes: list[str], **kwargs):
        from .models import ReviewDecision

        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = ReviewDecision.choices
        self.slot_codes = slot_codes
        for code in slot_codes:
            self.fields[f"dose_{code}"] = forms.CharField(
                label=f"New {code} dose (mg)",
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
            )

    slot_doses = PrescriptionForm.slot_doses
    field_for = PrescriptionForm.field_for

    @property
    def dose_fields(self):
        return [self[f"dose_{code}"] for code in self.slot_codes]


class MethadoneForm(forms.Form):
    nightly_dose_mg = forms.CharField(
        label="Nightly dose (mg)",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
    )
    pharmacy = forms.ModelChoiceField(
        queryset=None, widget=forms.Select(attrs={"class": "form-select"})
    )
    valid_from = local_time_field("Starts", help_text="Leave empty to start now.")
    valid_to = local_time_field("Ends")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))

    def __init__(self, *args, pharmacies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pharmacy"].queryset = pharmacies


class ExitPlanForm(forms.Form):
    weekly_reduction_percent = forms.DecimalField(
        label="Weekly reduction (% of today's dose)",
        min_value=Decimal("0.01"),
        max_value=Decimal("100"),
        decimal_places=2,
        initial=Decimal("10"),
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.01"}),
    )
    starts_at = local_time_field("First reduction", required=True)
    switch_at = local_time_field("Switch or end date", help_text="Leave empty to reduce to zero.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class ClosureForm(forms.Form):
    closes_on = forms.DateField(
        label="The service closes on",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class PharmacyForm(forms.Form):
    """A community pharmacy's name and contact details."""

    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"class": "form-control"}))
    address = forms.CharField(widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}))
    ods_code = forms.CharField(
        label="ODS code",
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    phone = forms.CharField(
        max_length=30, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )


class PharmacyChangeForm(PharmacyForm):
    reason = forms.CharField(
        label="Why they change", widget=forms.Textarea(attrs={"class": "form-control", "rows": 2})
    )


class PharmacyDeactivateForm(forms.Form):
    reason = forms.CharField(
        label="Why the clinic no longer uses it",
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )
