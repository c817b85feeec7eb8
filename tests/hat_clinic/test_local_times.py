"""Every date-and-time field typed on a page is core.forms.LocalDateTimeField: a time
the clocks skip or pass twice is refused saying which hour, in any clinic's zone.
The policy page's refusal is in tests/eligibility/test_policy_views.py and in
Chromium in tests/browser/test_policy_editor.py."""

from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from dosing.forms import PrescriptionForm
from monitoring.forms import BreathTestForm


def make(form_class, data):
    extra = {"slot_codes": ["AM", "PM"]} if form_class is PrescriptionForm else {}
    return form_class(data=data, **extra)


@pytest.mark.parametrize(
    ("form_class", "name"), [(PrescriptionForm, "valid_from"), (BreathTestForm, "taken_at")]
)
def test_a_prescription_and_a_breath_test_refuse_the_hour_the_clocks_skip(form_class, name):
    with timezone.override(ZoneInfo("Europe/London")):
        form = make(form_class, {name: "2026-03-29T01:15"})
        form.is_valid()
    assert form.errors[name] == [
        "There is no 01:15 on 29 Mar 2026 in the clinic's time: the clocks go forward "
        "from 01:00 to 02:00 that night. Give a time before 01:00 or from 02:00."
    ]


def test_the_hour_is_found_in_the_clinics_own_zone():
    """New York goes from 02:00 to 03:00 on 8 March 2026, and back from 02:00 to
    01:00 on 1 November."""
    with timezone.override(ZoneInfo("America/New_York")):
        skipped = make(PrescriptionForm, {"valid_from": "2026-03-08T02:30"})
        twice = make(PrescriptionForm, {"valid_from": "2026-11-01T01:30"})
        skipped.is_valid(), twice.is_valid()
    assert "the clocks go forward from 02:00 to 03:00" in skipped.errors["valid_from"][0]
    assert twice.errors["valid_from"] == [
        "01:30 on 1 Nov 2026 comes twice in the clinic's time: the clocks go back from "
        "02:00 to 01:00 that night. Give a time before 01:00 or from 02:00."
    ]
