from django import forms
from django.utils import timezone

from dosing.forms import local_time_field

from .models import Substance, ToxResult


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
    )


class ToxScreenForm(forms.Form):
    sample_date = _date_field("Sample date")
    notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for substance in Substance:
            self.fields[f"result_{substance.value}"] = forms.ChoiceField(
                label=substance.label,
                choices=ToxResult.choices,
                initial=ToxResult.NOT_TESTED,
                required=False,
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )
        self.fields["sample_date"].initial = timezone.localdate()

    @property
    def result_fields(self):
        return [self[f"result_{substance.value}"] for substance in Substance]

    def results(self) -> dict[str, str]:
        return {
            substance.value: self.cleaned_data[f"result_{substance.value}"] or ToxResult.NOT_TESTED
            for substance in Substance
        }

    def field_for(self, service_field: str | None) -> str | None:
        """A refusal of the results as a whole shows beside the first result."""
        if service_field == "results":
            return f"result_{next(iter(Substance)).value}"
        return service_field


class BreathTestForm(forms.Form):
    reading_mcg_per_100ml = forms.CharField(
        label="Reading (µg/100 ml breath)",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control"}),
    )
    taken_at = local_time_field("Taken at", help_text="Leave empty for now.")


class MethadoneCollectionForm(forms.Form):
    day = _date_field("Day")
    collected = forms.TypedChoiceField(
        label="Collected?",
        choices=[("yes", "Collected"), ("no", "Not collected")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].initial = timezone.localdate()


class AlertAddressForm(forms.Form):
    """One team address per role that alerts go to (see monitoring.models.KIND_ROLES)."""

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        for role in roles:
            self.fields[role.value] = forms.EmailField(
                label=f"{role.label} team",
                required=False,
                widget=forms.EmailInput(attrs={"class": "form-control"}),
            )
