"""One validator for a day staff record something happened on (issue 17.4): never
after today in the clinic's own time zone, whichever record it is."""

import datetime as dt

import pytest

from core.errors import RuleViolation, day_not_in_future

pytestmark = pytest.mark.django_db

# 23:30 UTC on 28 June 2026 is already 29 June in London (BST, UTC+1).
LATE_EVENING_UTC = dt.datetime(2026, 6, 28, 23, 30, tzinfo=dt.UTC)


def test_today_is_the_clinics_today_not_utcs(cast):
    today = day_not_in_future(
        dt.date(2026, 6, 29), cast.clinic_a, LATE_EVENING_UTC, field="sample_date", what="x"
    )
    assert today == dt.date(2026, 6, 29)


def test_a_day_after_the_clinics_today_is_refused_beside_its_field(cast):
    with pytest.raises(RuleViolation) as refused:
        day_not_in_future(
            dt.date(2026, 6, 30),
            cast.clinic_a,
            LATE_EVENING_UTC,
            field="referral_date",
            what="referral date",
        )
    assert refused.value.code == "date_in_future" and refused.value.field == "referral_date"
    assert refused.value.message == (
        "The referral date (30 Jun 2026) is in the future; today is 29 Jun 2026. "
        "Record it when it has happened."
    )
