from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.forms import LocalDateTimeField
from core.roles import CLINIC_ROLES

from .clinic_setup import time_zone_choices
from .models import (
    Clinic,
    ClinicPolicy,
    Criterion,
    Flag,
    Level,
    Referral,
    ReferralDecision,
    TakeHomeCriterion,
)
from .policy_rules import SlotRefused, SlotSpec, check_slots

TEXT = {"class": "form-control"}
AREA = {"class": "form-control", "rows": 2}


def _date(label, **kwargs):
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date", **TEXT}, format="%Y-%m-%d"),
        **kwargs,
    )


class ReferralForm(forms.Form):
    """A referral; the person's fields only for someone new to the clinic."""

    nhs_number = forms.CharField(label="NHS number", widget=forms.TextInput(attrs=TEXT))
    given_name = forms.CharField(widget=forms.TextInput(attrs=TEXT))
    family_name = forms.CharField(widget=forms.TextInput(attrs=TEXT))
    preferred_name = forms.CharField(required=False, widget=forms.TextInput(attrs=TEXT))
    date_of_birth = _date("Date of birth")
    referred_by = forms.CharField(
        label="Referred by",
        max_length=Referral._meta.get_field("referred_by").max_length,
        help_text="A person and their service.",
        widget=forms.TextInput(attrs=TEXT),
    )
    referral_date = _date("Referral date")
    substance_use_history = forms.CharField(widget=forms.Textarea(attrs=AREA))
    treatment_history = forms.CharField(
        label="Earlier treatment attempts", widget=forms.Textarea(attrs=AREA)
    )
    risk_flags = forms.MultipleChoiceField(
        choices=Flag.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    risk_notes = forms.CharField(required=False, widget=forms.Textarea(attrs=AREA))

    PERSON = ("nhs_number", "given_name", "family_name", "preferred_name", "date_of_birth")

    def __init__(self, *args, re_referral=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referral_date"].initial = timezone.localdate()
        if re_referral:
            for name in self.PERSON:
                del self.fields[name]

    def person(self) -> dict | None:
        if "nhs_number" not in self.fields:
            return None
        return {name: self.cleaned_data[name] for name in self.PERSON}


class AssessmentForm(forms.Form):
    """Met or not, with evidence, for each criterion of the clinic's checklist."""

    notes = forms.CharField(required=False, widget=forms.Textarea(attrs=AREA))

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = []
        for criterion, level in criteria:
            met = f"met_{criterion.value}"
            evidence = f"evidence_{criterion.value}"
            self.fields[met] = forms.TypedChoiceField(
                label=criterion.label,
                choices=[("yes", "Met"), ("no", "Not met")],
                coerce=lambda value: value == "yes",
                widget=forms.RadioSelect,
            )
            self.fields[evidence] = forms.CharField(
                label=f"Evidence: {criterion.label}",
                required=False,
                widget=forms.TextInput(attrs=TEXT),
            )
            self.criteria.append((criterion, level, self[met], self[evidence]))

    def answers(self) -> dict[str, tuple[bool, str]]:
        return {
            c.value: (self.cleaned_data[f"met_{c.value}"], self.cleaned_data[f"evidence_{c.value}"])
            for c, _, _, _ in self.criteria
        }

    def field_for(self, service_field: str | None) -> str | None:
        """The service names an answer as answers.<criterion>.<met|evidence>."""
        if service_field and service_field.startswith("answers."):
            _, criterion, part = [*service_field.split("."), "met"][:3]
            return f"{part}_{criterion}"
        return service_field


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=ReferralDecision.choices, widget=forms.RadioSelect)
    reason = forms.CharField(widget=forms.Textarea(attrs=AREA))
    advisory_reason = forms.CharField(
        label="Why accept although an advisory criterion is not met",
        required=False,
        widget=forms.Textarea(attrs=AREA),
    )
    priority = forms.TypedChoiceField(
        label="Waiting list priority",
        choices=[(1, "1: most urgent"), (2, "2: usual"), (3, "3: least urgent")],
        coerce=int,
        initial=2,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class AdmitForm(forms.Form):
    agreement_signed_on = _date("Treatment agreement signed on")
    witness = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        label="Witnessed by",
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agreement_signed_on"].initial = timezone.localdate()
        self.fields["witness"].queryset = staff
        self.fields["witness"].label_from_instance = lambda u: u.get_full_name() or u.username


class NewVersionForm(forms.Form):
    """A new version of the clinic's policy: from when (this minute, offered), and why."""

    effective_from = LocalDateTimeField(label="From")
    reason = forms.CharField(widget=forms.Textarea(attrs=AREA))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_from"].initial = timezone.localtime().replace(
            second=0, microsecond=0
        )


class ChecklistForm(NewVersionForm):
    """The clinic's eligibility checklist: each criterion required, advisory or off,
    from a stated time (a new policy version)."""

    def __init__(self, *args, levels, **kwargs):
        super().__init__(*args, **kwargs)
        for criterion in Criterion:
            self.fields[f"level_{criterion.value}"] = forms.ChoiceField(
                label=criterion.label,
                choices=Level.choices,
                initial=levels.get(criterion.value, Level.REQUIRED),
                widget=forms.Select(attrs={"class": "form-select"}),
            )

    def levels(self) -> dict[str, str]:
        return {c.value: self.cleaned_data[f"level_{c.value}"] for c in Criterion}


# The take-home criteria's numbers, each after the criterion it belongs to; the recent
# weeks serve attendance, adverse events and re-titration alike.
TAKE_HOME_VALUES = {
    TakeHomeCriterion.MAINTENANCE: (
        "take_home_maintenance_weeks",
        "Weeks in maintenance, at least",
    ),
    TakeHomeCriterion.ADHERENCE: ("take_home_adherence_percent", "Sessions taken (%), at least"),
    TakeHomeCriterion.CLEAN_TOX: ("take_home_tox_screens", "Latest tox screens looked at"),
    TakeHomeCriterion.WEEKLY_MAXIMUM: ("take_home_max_per_week", "Most take-home doses a week"),
}
RECENT_WEEKS = ("take_home_recent_weeks", "Recent weeks (attendance, adverse events, re-titration)")


def policy_value_field(name: str, label: str, current: ClinicPolicy) -> forms.Field:
    """A policy value's field, with the model's own limits (its validators, the
    database's range), so that a value out of range is refused beside its field."""
    field = forms.fields_for_model(ClinicPolicy, fields=[name])[name]
    field.label = label
    field.initial = getattr(current, name)
    field.validators = [*field.validators, *ClinicPolicy._meta.get_field(name).validators]
    field.widget.attrs.update({**TEXT, "inputmode": "decimal"})
    return field


class TakeHomeCriteriaForm(NewVersionForm):
    """The clinic's take-home criteria: each required, advisory or off, with the number
    it uses, from a stated time (a new policy version)."""

    def __init__(self, *args, current: ClinicPolicy, **kwargs):
        super().__init__(*args, **kwargs)
        levels = current.take_home_levels
        for criterion in TakeHomeCriterion:
            self.fields[f"level_{criterion.value}"] = forms.ChoiceField(
                label=criterion.label,
                choices=Level.choices,
                initial=levels.get(criterion.value, Level.REQUIRED),
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            if criterion in TAKE_HOME_VALUES:
                name, label = TAKE_HOME_VALUES[criterion]
                self.fields[name] = policy_value_field(name, label, current)
        self.fields[RECENT_WEEKS[0]] = policy_value_field(*RECENT_WEEKS, current)

    def values(self) -> dict:
        """The policy values to issue: the levels, and each number."""
        numbers = [name for name, _ in TAKE_HOME_VALUES.values()] + [RECENT_WEEKS[0]]
        return {
            "take_home_levels": {
                c.value: self.cleaned_data[f"level_{c.value}"] for c in TakeHomeCriterion
            },
            **{name: self.cleaned_data[name] for name in numbers},
        }


# The policy editor's values: every one but the eligibility checklist, which has its
# own page. Labels as a manager reads them.
POLICY_LABELS = {
    "min_dose_interval_minutes": "Minimum interval between injections (minutes)",
    "observation_minutes": "Post-dose observation (minutes)",
    "observation_grace_minutes": "Observation overdue after (minutes past the time)",
    "topup_gap_minutes": "Top-up gap after the first injection (minutes)",
    "missed_warning_threshold": "Missed-dose warning after (consecutive sessions)",
    "retitration_threshold": "Re-titration after (consecutive sessions)",
    "retitration_days": "Re-titration after (days since the last dose)",
    "max_injection_mg": "Ceiling per injection (mg)",
    "max_daily_total_mg": "Daily ceiling (mg)",
    "maintenance_rise_percent": "Maintenance rise needing a reason (%)",
    "maintenance_rise_days": "Maintenance rise measured over (days)",
    "breath_caution_threshold": "Breath alcohol: caution at (µg/100 ml)",
    "breath_withhold_threshold": "Breath alcohol: withhold at (µg/100 ml)",
    "capacity": "Capacity (places)",
    "review_interval_days": "Prescriber review every (days)",
    "tox_interval_days": "Tox screen every (days)",
    "methadone_uncollected_days": "Methadone alert after (days uncollected)",
}
SLOT_ROWS = 4


class PolicyForm(NewVersionForm):
    """A new version of the clinic's policy from a stated time: every value, filled
    from the version in force, and the dose slots, in rows of code, opening and
    closing time (four, or one more than are in force)."""

    def __init__(self, *args, current, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in POLICY_LABELS.items():
            # Refused beside its field before the slots are checked against it.
            self.fields[name] = policy_value_field(name, label, current)
        slots = list(current.slots.all())
        # Room for every slot in force and one more: none is dropped by saving.
        self.slot_count = max(SLOT_ROWS, len(slots) + 1)
        for row in range(self.slot_count):
            slot = slots[row] if row < len(slots) else None
            n = row + 1
            self.fields[f"slot_{n}_code"] = forms.CharField(
                label=f"Slot {n}: code",
                required=False,
                max_length=12,
                initial=slot.code if slot else "",
                widget=forms.TextInput(attrs=TEXT),
            )
            for end, word in (("opens_at", "opens"), ("closes_at", "closes")):
                self.fields[f"slot_{n}_{end}"] = forms.TimeField(
                    label=f"Slot {n}: {word}",
                    required=False,
                    initial=getattr(slot, end) if slot else None,
                    widget=forms.TimeInput(attrs={"type": "time", **TEXT}, format="%H:%M"),
                )

    def slot_rows(self) -> list[list]:
        """The slot fields, a row of code, opens and closes each, for the template."""
        return [
            [self[f"slot_{n}_{part}"] for part in ("code", "opens_at", "closes_at")]
            for n in range(1, self.slot_count + 1)
        ]

    def value_fields(self) -> list:
        return [self[name] for name in POLICY_LABELS]

    def clean(self):
        data = super().clean()
        for n in range(1, self.slot_count + 1):
            parts = [f"slot_{n}_{part}" for part in ("code", "opens_at", "closes_at")]
            given = [data.get(name) not in (None, "") for name in parts]
            if any(given) and not all(given):
                for name, present in zip(parts, given, strict=True):
                    if not present and name not in self.errors:
                        self.add_error(name, "Give the code, opening and closing time, or none.")
        if not self.errors:
            self._check_slots(data)
        return data

    def _check_slots(self, data: dict) -> None:
        """The slots' rules here too, so that a refusal stands beside the row at
        fault (policy_issue checks them again, for the API)."""
        try:
            check_slots(self.slots(), min_interval_minutes=data["min_dose_interval_minutes"])
        except SlotRefused as refusal:
            rows = [
                n
                for n in range(1, self.slot_count + 1)
                if (data.get(f"slot_{n}_code") or "").strip().upper()
                in {code.strip().upper() for code in refusal.slots}
            ] or [1]
            # Beside the later of the rows at fault: the message names them both.
            self.add_error(f"slot_{rows[-1]}_code", refusal.message)

    def slots(self) -> list[SlotSpec]:
        data = self.cleaned_data
        return [
            SlotSpec(
                data[f"slot_{n}_code"], data[f"slot_{n}_opens_at"], data[f"slot_{n}_closes_at"]
            )
            for n in range(1, self.slot_count + 1)
            if data.get(f"slot_{n}_code")
        ]

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in POLICY_LABELS}


class ClinicOpenForm(forms.Form):
    """A new clinic and its first manager (installation administrators)."""

    name = forms.CharField(
        label="Clinic name",
        max_length=Clinic._meta.get_field("name").max_length,
        widget=forms.TextInput(attrs=TEXT),
    )
    address = forms.CharField(
        required=False,
        max_length=Clinic._meta.get_field("address").max_length,
        widget=forms.Textarea(attrs=AREA),
    )
    phone = forms.CharField(
        required=False,
        max_length=Clinic._meta.get_field("phone").max_length,
        help_text="Printed on take-home labels.",
        widget=forms.TextInput(attrs={**TEXT, "type": "tel"}),
    )
    time_zone = forms.ChoiceField(
        label="Time zone",
        initial="Europe/London",
        help_text="The clinic day and its dose slots are in this time zone.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    capacity = forms.IntegerField(
        label="Places",
        min_value=1,
        max_value=1000,
        initial=15,
        help_text="How many service users the clinic can treat at once.",
        widget=forms.NumberInput(attrs=TEXT),
    )
    manager_username = forms.CharField(
        label="First manager's username",
        max_length=150,
        help_text="An existing account's, who becomes the manager, or a new one.",
        widget=forms.TextInput(attrs={**TEXT, "autocomplete": "off"}),
    )
    manager_first_name = forms.CharField(
        label="First name", required=False, max_length=150, widget=forms.TextInput(attrs=TEXT)
    )
    manager_last_name = forms.CharField(
        label="Last name", required=False, max_length=150, widget=forms.TextInput(attrs=TEXT)
    )
    manager_email = forms.EmailField(
        label="E-mail", required=False, widget=forms.EmailInput(attrs=TEXT)
    )
    manager_password = forms.CharField(
        label="First password",
        required=False,
        strip=False,
        help_text="For a new account only. They set up an authenticator app at first login.",
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(zone, zone) for zone in time_zone_choices()]


def _roles_field(**kwargs):
    return forms.MultipleChoiceField(
        label="Roles in this clinic",
        choices=[(role.value, role.value) for role in CLINIC_ROLES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one role."},
        **kwargs,
    )


class StaffAddForm(forms.Form):
    """A person joins the clinic's staff: an existing account by its username, or a
    new one, invited by a one-time link."""

    username = forms.CharField(
        max_length=150,
        help_text="An existing account's username, or a new one.",
        widget=forms.TextInput(attrs={**TEXT, "autocomplete": "off"}),
    )
    first_name = forms.CharField(
        required=False,
        max_length=150,
        help_text="For a new account.",
        widget=forms.TextInput(attrs=TEXT),
    )
    last_name = forms.CharField(
        required=False,
        max_length=150,
        help_text="For a new account.",
        widget=forms.TextInput(attrs=TEXT),
    )
    email = forms.EmailField(label="E-mail", required=False, widget=forms.EmailInput(attrs=TEXT))
    roles = _roles_field()


class StaffRolesForm(forms.Form):
    roles = _roles_field()
    reason = forms.CharField(
        max_length=500,
        help_text="Kept in the staff history.",
        widget=forms.TextInput(attrs=TEXT),
    )


class StaffDeactivateForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        help_text="Kept in the staff history. What they recorded stays under their name.",
        widget=forms.TextInput(attrs=TEXT),
    )


class SetPasswordForm(forms.Form):
    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "new-password"}),
        help_text="At least 10 characters, not only digits, not like your name.",
    )
    new_password2 = forms.CharField(
        label="The same again",
        strip=False,
        widget=forms.PasswordInput(attrs={**TEXT, "autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password1") and data.get("new_password2") not in (
            None,
            data["new_password1"],
        ):
            self.add_error("new_password2", "The two passwords differ: type the same twice.")
        return data
