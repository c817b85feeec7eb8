"""What a clinic policy version must be to be issued (docs/domain.md, its opening):
dose slots that make a clinic day, and thresholds that keep a missed dose from
passing unnoticed. The database holds the single-value limits (ClinicPolicy's
constraints); these are the rules across values, checked by policy_issue under the
clinic's lock."""

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import RuleViolation

# Two consecutive sessions not taken is the first that means anything more than a
# single missed dose (docs/domain.md, "Missed doses and re-titration"); a threshold
# of 1 would alert, or force re-titration, on every missed session.
LOWEST_MISSED_THRESHOLD = 2


class SlotRefused(RuleViolation):
    """A refusal of the dose slots, naming the slots at fault (by code) so that a
    form can stand the message beside them."""

    def __init__(self, message: str, *, code: str, slots: Sequence[str] = ()):
        super().__init__(message, code=code, field="slots")
        self.slots = tuple(slots)


@dataclass(frozen=True)
class SlotSpec:
    code: str
    opens_at: dt.time
    closes_at: dt.time


def _minutes(time: dt.time) -> int:
    return time.hour * 60 + time.minute


def check_slots(slots: Sequence[SlotSpec], *, min_interval_minutes: int) -> None:
    """At least one slot; codes of their own; each window open before it closes; no
    two overlapping; and each slot still open for someone dosed as the one before it
    opened, once the minimum interval has passed."""
    if not slots:
        raise SlotRefused("A clinic day needs at least one dose slot.", code="no_slots")
    codes = [slot.code.strip().upper() for slot in slots]
    if any(not code for code in codes):
        raise SlotRefused("Each dose slot needs a code, such as AM.", code="slot_code_missing")
    if len(set(codes)) != len(codes):
        repeated = [code for code in codes if codes.count(code) > 1]
        raise SlotRefused(
            "Each dose slot needs its own code.", code="slot_codes_repeat", slots=repeated
        )
    ordered = sorted(slots, key=lambda slot: slot.opens_at)
    for slot in ordered:
        if slot.closes_at <= slot.opens_at:
            raise SlotRefused(
                f"Slot {slot.code} closes at {slot.closes_at:%H:%M}, which is not after it "
                f"opens at {slot.opens_at:%H:%M}.",
                code="slot_window_empty",
                slots=[slot.code],
            )
    for earlier, later in itertools.pairwise(ordered):
        if later.opens_at < earlier.closes_at:
            raise SlotRefused(
                f"Slots {earlier.code} and {later.code} overlap: {earlier.code} closes at "
                f"{earlier.closes_at:%H:%M} but {later.code} opens at {later.opens_at:%H:%M}.",
                code="slots_overlap",
                slots=[earlier.code, later.code],
            )
        ready = _minutes(earlier.opens_at) + min_interval_minutes
        if ready > _minutes(later.closes_at):
            raise SlotRefused(
                f"With a minimum interval of {min_interval_minutes} minutes, someone dosed "
                f"as {earlier.code} opens ({earlier.opens_at:%H:%M}) could not be dosed "
                f"again before {ready // 60 % 24:02d}:{ready % 60:02d}, but {later.code} "
                f"closes at {later.closes_at:%H:%M}. Widen {later.code}'s window or "
                "shorten the interval.",
                code="slot_window_too_short",
                slots=[earlier.code, later.code],
            )


def check_missed_thresholds(*, warning: int, retitration: int) -> None:
    """Both thresholds at least 2, and the warning no later than re-titration."""
    for field, value, what in (
        ("missed_warning_threshold", warning, "missed-dose warning"),
        ("retitration_threshold", retitration, "re-titration"),
    ):
        if value < LOWEST_MISSED_THRESHOLD:
            raise RuleViolation(
                f"The {what} threshold is {value}; it must be at least "
                f"{LOWEST_MISSED_THRESHOLD} consecutive sessions not taken, or a single "
                "missed session would count as a pattern.",
                code="threshold_too_low",
                field=field,
            )
    if warning > retitration:
        raise RuleViolation(
            f"The missed-dose warning ({warning}) must come no later than re-titration "
            f"({retitration}): the team is warned before tolerance may be lost.",
            code="thresholds_out_of_order",
            field="missed_warning_threshold",
        )


# docs/domain.md's floors and ceilings on a clinic's values: (field, lowest, highest, why).
# The observation and the top-up gap are "at least 20 minutes"; the review and the tox
# screen "at least every 7 days".
BOUNDS: tuple[tuple[str, int, int | None, str], ...] = (
    ("observation_minutes", 20, None, "post-dose observation is at least 20 minutes"),
    ("topup_gap_minutes", 20, None, "a top-up comes at least 20 minutes after the first"),
    ("review_interval_days", 1, 7, "every service user is reviewed at least every 7 days"),
    ("tox_interval_days", 1, 7, "a tox screen is taken at least every 7 days"),
    ("methadone_uncollected_days", 1, None, "an uncollected day is at least one day"),
    ("maintenance_rise_percent", 1, None, "a rise of 0% would need a reason for any rise"),
    ("take_home_adherence_percent", 0, 100, "attendance is a share of the sessions"),
    ("take_home_recent_weeks", 1, None, "the recent weeks are at least one"),
    ("take_home_tox_screens", 1, None, "at least one tox screen is looked at"),
    ("take_home_max_per_week", 1, None, "a take-home prescription has at least one dose"),
)


def check_values(values: dict[str, Any]) -> None:
    """The values of a version, across fields: docs/domain.md's bounds; an interval that
    outlasts the observation; the missed-dose thresholds in order and at least 2; and
    both breath alcohol thresholds, above zero, or neither."""
    for field, lowest, highest, why in BOUNDS:
        value = values[field]
        if value < lowest or (highest is not None and value > highest):
            bound = f"at least {lowest}" if highest is None else f"from {lowest} to {highest}"
            raise RuleViolation(
                f"{value} is not allowed here: it must be {bound}, as {why}.",
                code="policy_value_out_of_bounds",
                field=field,
            )
    if values["min_dose_interval_minutes"] < values["observation_minutes"]:
        raise RuleViolation(
            f"The minimum interval ({values['min_dose_interval_minutes']} minutes) is shorter "
            f"than the post-dose observation ({values['observation_minutes']} minutes): the "
            "next dose could start before the last one's observation ends.",
            code="interval_shorter_than_observation",
            field="min_dose_interval_minutes",
        )
    check_missed_thresholds(
        warning=values["missed_warning_threshold"], retitration=values["retitration_threshold"]
    )
    caution, withhold = values["breath_caution_threshold"], values["breath_withhold_threshold"]
    if (caution is None) != (withhold is None):
        raise RuleViolation(
            "Set both breath alcohol thresholds, caution and withhold, or neither: with one "
            "alone, alcohol-flagged service users still cannot be dosed.",
            code="breath_thresholds_pair",
            field="breath_withhold_threshold" if withhold is None else "breath_caution_threshold",
        )
    for field, value in (
        ("breath_caution_threshold", caution),
        ("breath_withhold_threshold", withhold),
    ):
        if value is not None and value <= 0:
            raise RuleViolation(
                f"A breath alcohol threshold of {value} would stop every reading: give a "
                "reading above 0 µg/100 ml.",
                code="breath_threshold_not_positive",
                field=field,
            )
