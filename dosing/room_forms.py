"""The session page's forms, one per action. They only collect and type the input:
the dosing room's services decide what is allowed, and their refusals are shown
beside the field they name (core.forms.add_refusal)."""

import copy
import datetime as dt

from django import forms

from .models import AMENDABLE_LABELS, Amendment, Observation, Poss, Route, Site, WithholdReason


class SessionForm(forms.Form):
    """Bootstrap's classes on every widget; a refusal keeps every value typed (a
    password input never renders its value, so the witness types it again)."""

    # The services name some fields differently from the inputs.
    field_aliases: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style()

    def style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")

    def field_for(self, name: str | None) -> str | None:
        if name is None:
            return None
        name = name.removeprefix("changes.")
        return self.field_aliases.get(name, name)


def _mg(label: str, *, required: bool = True) -> forms.CharField:
    # Text, not a number input: the service parses milligrams and names what is wrong,
    # and what was typed is shown again as typed.
    return forms.CharField(
        label=label,
        required=required,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"required": f"Give the {label[0].lower()}{label[1:]}."},
    )


def _time(label: str, *, required: bool = False) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=required,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Give the time as HH:MM."},
    )


class AssessForm(SessionForm):
    identity_confirmed = forms.BooleanField(
        label="Identity confirmed: name, date of birth and photo", required=False
    )
    poss = forms.ChoiceField(
        label="Sedation (POSS)",
        choices=Poss.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the sedation score (POSS).",
            "invalid_choice": "Choose the sedation score (POSS) from the list.",
        },
    )
    breath_mcg_per_100ml = forms.CharField(
        label="Breath alcohol (µg/100 ml)",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    caution_reason = forms.CharField(
        label="Reason to go on at a caution level", required=False, max_length=2000
    )
    # Set by the button pressed: "Record assessment" or "Defer and reassess later".
    decision = forms.ChoiceField(
        choices=[("proceed", "Record assessment"), ("defer", "Defer and reassess later")],
        required=False,
    )

    def __init__(self, *args, alcohol_flagged: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not alcohol_flagged:
            del self.fields["breath_mcg_per_100ml"]


class InjectionForm(SessionForm):
    drawn_mg = _mg("Drawn up (mg)")
    injected_mg = _mg("Injected (mg)")
    route = forms.ChoiceField(label="Route", choices=Route.choices)
    site = forms.ChoiceField(label="Site", choices=Site.choices)
    risk_discussion = forms.CharField(
        label="Risk discussion (lower-limb IV)", required=False, max_length=2000
    )
    witness_username = forms.CharField(
        label="Witness username",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "The witness enters their username."},
    )
    witness_password = forms.CharField(
        label="Witness password",
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
        error_messages={"required": "The witness enters their own password."},
    )
    # The prescription version the page showed: a newer one refuses the dose.
    prescription = forms.IntegerField(
        required=False, widget=forms.HiddenInput, min_value=1, max_value=2**62
    )


class WithholdForm(SessionForm):
    reason = forms.ChoiceField(
        label="Reason to withhold",
        choices=WithholdReason.choices,
        error_messages={"required": "Choose why the dose is withheld."},
    )
    note = forms.CharField(label="Withhold note", required=False, max_length=2000)


class DeclineForm(SessionForm):
    note = forms.CharField(label="Decline note", required=False, max_length=2000)


class ObserveForm(SessionForm):
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=Observation.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the observation's outcome."},
    )
    over_sedation = forms.BooleanField(label="Over-sedation", required=False)
    overdose = forms.BooleanField(label="Overdose", required=False)
    ambulance_called = forms.BooleanField(label="Ambulance called", required=False)
    naloxone_mg = _mg("Naloxone (mg)", required=False)
    naloxone_at = _time("Naloxone time")
    details = forms.CharField(
        label="Details",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def on_day(day: dt.date, time: dt.time | None, zone) -> dt.datetime | None:
    """A time typed on the session's page, as the instant it is on the session's day."""
    return dt.datetime.combine(day, time, tzinfo=zone) if time else None


# A correction's fields are the original's, typed and limited as the form that recorded
# it has them; only the injection's time, never typed at the dose, and the outcome note
# are their own.
RECORDED_BY = {**AssessForm.base_fields, **InjectionForm.base_fields, **ObserveForm.base_fields}
OWN_FIELDS = {
    "injected_at": lambda: _time("", required=True),
    "outcome_note": lambda: forms.CharField(required=False, max_length=4000),
}
TIME_FIELDS = ("injected_at", "naloxone_at")


def _amend_field(name: str) -> forms.Field:
    field = OWN_FIELDS[name]() if name in OWN_FIELDS else copy.deepcopy(RECORDED_BY[name])
    if isinstance(field.widget, forms.RadioSelect):  # a list of radios is too tall here
        field.widget = forms.Select(choices=field.choices)
    field.label = AMENDABLE_LABELS[name]
    return field


class AmendForm(SessionForm):
    """A correction of one record: its fields, the reason, and for an injection the
    witness. ``current`` is the record as it now reads (dosing.effective), shown as
    each field's starting value."""

    reason = forms.CharField(
        label="Why is it corrected?",
        max_length=2000,
        error_messages={"required": "Say why the record is corrected."},
    )

    def __init__(self, *args, record: str, sequence, fields, current: dict, zone, **kwargs):
        super().__init__(*args, **kwargs)
        self.record = record
        self.sequence = sequence
        self.zone = zone
        self.amendable = list(fields)
        initial = {}
        for name in fields:
            self.fields[name] = _amend_field(name)
            initial[name] = _initial(name, current.get(name, ""), zone)
        self.fields["reason"] = self.fields.pop("reason")  # the reason comes last
        if record == Amendment.Record.ADMINISTRATION:
            # Witnessed like the injection it corrects.
            for name in ("witness_username", "witness_password"):
                self.fields[name] = copy.deepcopy(InjectionForm.base_fields[name])
        self.initial = {**initial, **self.initial}
        self.style()

    def field_for(self, name: str | None) -> str | None:
        # "Nothing to correct" is about every field: it is shown beside the first.
        if name == "changes":
            return self.amendable[0]
        return super().field_for(name)

    def changes(self, day: dt.date) -> dict:
        """The fields the nurse changed, as the service takes them: times on the
        session's day. A field left as it read is not sent, so a time shown to the
        minute is never corrected to the minute by a correction of something else."""
        values = {}
        for name in (name for name in self.amendable if name in self.changed_data):
            value = self.cleaned_data.get(name)
            if name in TIME_FIELDS:
                instant = on_day(day, value, self.zone)
                value = instant.isoformat() if instant else ""
            values[name] = value
        return values


def _initial(name: str, value: str, zone):
    if name in TIME_FIELDS:
        # A time to the minute, as the input shows it, so that one left as shown is
        # not taken for a change (Field.has_changed compares typed values).
        if not value:
            return None
        local = dt.datetime.fromisoformat(value).astimezone(zone)
        return local.time().replace(second=0, microsecond=0)
    if name in ("over_sedation", "overdose", "ambulance_called"):
        return value == "True"
    return value
