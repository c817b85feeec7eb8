"""The guest-stay forms. They only collect input: dosing.guest decides."""

from django import forms

from eligibility.models import Clinic

TEXT = {"class": "form-control"}
AREA = {"class": "form-control", "rows": 2}
DAY = {"class": "form-control", "type": "date"}


class GuestStayForm(forms.Form):
    host_clinic = forms.ModelChoiceField(
        label="Clinic to be dosed at",
        queryset=Clinic.objects.none(),
        empty_label="Choose a clinic",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    first_day = forms.DateField(
        label="First day there", widget=forms.DateInput(attrs=DAY, format="%Y-%m-%d")
    )
    last_day = forms.DateField(
        label="Last day there",
        help_text="At most 28 days: for longer, transfer the person's care.",
        widget=forms.DateInput(attrs=DAY, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label="Why they are away", help_text="The host reads it.", widget=forms.Textarea(attrs=AREA)
    )

    def __init__(self, *args, home: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["host_clinic"].queryset = Clinic.objects.exclude(pk=home.pk).order_by("name")


class GuestStayAcceptForm(forms.Form):
    note = forms.CharField(
        label="Note for the home clinic",
        required=False,
        help_text="Optional: for example, who to ask for on arrival.",
        widget=forms.Textarea(attrs=AREA),
    )


class GuestStayEndForm(forms.Form):
    reason = forms.CharField(
        label="Why",
        help_text="The other clinic reads it.",
        widget=forms.Textarea(attrs=AREA),
    )
