"""The take-home prescription form. It only collects input: the service decides."""

from django import forms

from .models import WEEKDAYS, TakeHomeLoss, TakeHomeRoute
from .models.take_home import WEEKDAY_NAMES

TEXT = {"class": "form-control"}
AREA = {"class": "form-control", "rows": 2}
CHECKS = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})


def witness_fields(whose: str, help_text: str = "") -> tuple[forms.CharField, forms.CharField]:
    """The witness's username and password, typed by the witness."""
    return (
        forms.CharField(
            label=f"{whose} username",
            help_text=help_text,
            widget=forms.TextInput(attrs={**TEXT, "autocomplete": "off"}),
        ),
        forms.CharField(
            label=f"{whose} password",
            strip=False,
            widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "off"}),
        ),
    )


class TakeHomePrescriptionForm(forms.Form):
    route = forms.ChoiceField(
        choices=TakeHomeRoute.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    dose_mg = forms.CharField(
        label="Each dose (mg)", widget=forms.TextInput(attrs={**TEXT, "inputmode": "decimal"})
    )
    slot_codes = forms.MultipleChoiceField(label="Slots taken at home", widget=CHECKS)
    weekdays = forms.MultipleChoiceField(
        label="Days", choices=list(WEEKDAY_NAMES.items()), widget=CHECKS
    )
    valid_from = forms.DateField(
        label="First day", widget=forms.DateInput(attrs={**TEXT, "type": "date"}, format="%Y-%m-%d")
    )
    valid_to = forms.DateField(
        label="Last day",
        help_text="At most 12 weeks on: review, then write the next.",
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(widget=forms.Textarea(attrs=AREA))
    criteria_reason = forms.CharField(
        label="Reason although an advisory criterion is not met",
        required=False,
        help_text="Needed only when a criterion the clinic made advisory is not met.",
        widget=forms.Textarea(attrs=AREA),
    )

    def __init__(self, *args, slot_codes: list[str], today, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot_codes"].choices = [(code, code) for code in slot_codes]
        self.fields["valid_from"].initial = today
        self.fields["weekdays"].initial = list(WEEKDAYS)


class TakeHomeSupplyForm(forms.Form):
    through = forms.DateField(
        label="Supply to the end of",
        help_text="The last day supplied, at most six days on: the service user is due "
        "back the day after.",
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}, format="%Y-%m-%d"),
    )
    witness_username, witness_password = witness_fields("Witness's")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs=AREA))

    def __init__(self, *args, through, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["through"].initial = through


class TakeHomeLossForm(forms.Form):
    kind = forms.ChoiceField(
        label="Lost or stolen",
        choices=TakeHomeLoss.Kind.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    doses = forms.IntegerField(
        label="How many doses", min_value=1, widget=forms.NumberInput(attrs=TEXT)
    )
    happened_on = forms.DateField(
        label="When it happened",
        widget=forms.DateInput(attrs={**TEXT, "type": "date"}, format="%Y-%m-%d"),
    )
    description = forms.CharField(
        label="What happened",
        help_text="Say whether the police were told, and any crime number.",
        widget=forms.Textarea(attrs=AREA),
    )


class TakeHomeReturnForm(forms.Form):
    dose_ids = forms.MultipleChoiceField(label="Doses brought back", widget=CHECKS)
    units = forms.IntegerField(
        label="Ampoules or tablets brought back", min_value=1, widget=forms.NumberInput(attrs=TEXT)
    )
    witness_username, witness_password = witness_fields(
        "Authorised witness's",
        help_text="A prescriber: returned controlled drugs are destroyed in front of them.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs=AREA))

    def __init__(self, *args, doses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dose_ids"].choices = [
            (str(d.pk), f"{d.clinic_day:%a %-d %b} {d.slot_code}: {d.dose_mg.normalize():f} mg")
            for d in doses
        ]
