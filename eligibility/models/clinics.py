"""Clinics, the staff who work in them, and each clinic's versioned policy."""

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from core.roles import ACTING_IN

from .pathway import default_eligibility_levels, validate_eligibility_levels
from .take_home_policy import (
    TakeHomeCriterion,
    default_take_home_levels,
    validate_take_home_levels,
    weeks,
)

# docs/domain.md: "No daily total may exceed 1,000 mg; a clinic may set a lower ceiling."
ABSOLUTE_MAX_DAILY_MG = Decimal("1000")
# The maximum single dose in the German diamorphine label: the default ceiling per
# injection, and the highest a clinic may set.
DEFAULT_MAX_INJECTION_MG = Decimal("400")


class Clinic(models.Model):
    name = models.CharField(max_length=120, unique=True)
    address = models.TextField(blank=True, max_length=500)
    phone = models.CharField(
        max_length=40, blank=True, help_text="Printed on take-home labels: the clinic's number."
    )
    time_zone = models.CharField(
        max_length=64,
        default="Europe/London",
        help_text="The clinic day and its dose slot windows are in this time zone.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    # Set by eligibility.selectors.attach_policies_in_force, for a list of clinics.
    policy: "ClinicPolicy | None"

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def clinic_day_of(self, instant: dt.datetime) -> dt.date:
        """The clinic's calendar day that an instant falls on, in its own time zone."""
        return instant.astimezone(self.zone).date()


class StaffMembershipQuerySet(models.QuerySet["StaffMembership"]):
    def active(self) -> "StaffMembershipQuerySet":
        return self.filter(deactivated_at__isnull=True)

    def clinic_ids_in_scope(self, user: Any) -> "models.QuerySet[Any]":
        """The ids of the clinics whose records this member of staff may reach now, as
        a subquery: their active memberships' clinics, narrowed to the clinics the
        request acts in where that is set (eligibility.permissions.act_in). None for
        anyone not logged in."""
        if not user.is_authenticated:
            return self.none().values("clinic_id")
        memberships = self.active().filter(user=user)
        acting_in = getattr(user, ACTING_IN, None)
        if acting_in is not None:
            memberships = memberships.filter(clinic_id__in=acting_in)
        return memberships.values("clinic_id")


class StaffMembership(models.Model):
    """A member of staff works in a clinic and sees only their clinics' records.

    Roles are held here, per clinic: one person may be a nurse at one clinic and a
    manager at another. What a request may do is the permissions of the roles held in
    the clinic it acts in (eligibility.permissions). Each role is its group
    (core.roles); the installation administrator's is the one role held on the account
    itself, not in a clinic.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="memberships")
    roles = models.ManyToManyField("auth.Group", blank=True, related_name="staff_memberships")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a manager takes the person off this clinic's staff: kept, not deleted,
    # so the records they made still name a member of the clinic.
    deactivated_at = models.DateTimeField(null=True, blank=True)

    objects = StaffMembershipQuerySet.as_manager()

    # A change of roles is kept with the rest of the membership's history.
    history = HistoricalRecords(m2m_fields=[roles])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="one_membership_per_clinic")
        ]

    def __str__(self):
        return f"{self.user} at {self.clinic}"


class StaffLink(models.Model):
    """A one-time link for a member of staff to set their password: an invitation to
    a new account, or a manager's password reset. Only the key's hash is kept; the
    key is shown once, to the manager who gives it. The row is the audit of who
    invited or reset whom, and when it was used."""

    class Kind(models.TextChoices):
        INVITE = "invite", "Invitation"
        RESET = "reset", "Password reset"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_links"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="staff_links")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # link_for: WHERE key_hash = %s (the unique constraint's index).
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.get_kind_display()} for {self.user}"


class ClinicPolicy(models.Model):
    """One version of a clinic's rules, in force from ``effective_from`` until the next.

    Versions are never edited: a change is a new version from a stated time,
    so every past record keeps the policy it was made under.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="policies")
    effective_from = models.DateTimeField()
    min_dose_interval_minutes = models.PositiveIntegerField(
        default=240, help_text="No injection may start sooner than this after the previous one."
    )
    observation_minutes = models.PositiveIntegerField(
        default=20, help_text="Minimum post-dose observation after the last injection."
    )
    observation_grace_minutes = models.PositiveIntegerField(
        default=30,
        help_text="How long after the observation time an unrecorded observation raises an alert.",
    )
    topup_gap_minutes = models.PositiveIntegerField(
        default=20, help_text="Minimum time from the first injection to a top-up."
    )
    missed_warning_threshold = models.PositiveSmallIntegerField(
        default=2, help_text="Consecutive sessions not taken that raise a contact warning."
    )
    retitration_threshold = models.PositiveSmallIntegerField(
        default=3, help_text="Consecutive sessions not taken that require re-titration."
    )
    retitration_days = models.PositiveSmallIntegerField(
        default=3,
        help_text="Days after the last dose from which re-titration is required, whatever "
        "the number of sessions not taken.",
    )
    max_injection_mg = models.DecimalField(
        "ceiling per injection (mg)",
        max_digits=7,
        decimal_places=2,
        default=DEFAULT_MAX_INJECTION_MG,
        help_text="No prescribed session dose may be above this (a hard stop).",
    )
    maintenance_rise_percent = models.PositiveSmallIntegerField(
        default=50,
        help_text="In maintenance, a rise above this over the dose of the last "
        "maintenance_rise_days needs a written clinical reason.",
    )
    maintenance_rise_days = models.PositiveSmallIntegerField(
        default=7, help_text="The days over which a maintenance rise is measured."
    )
    breath_caution_threshold = models.DecimalField(
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Breath alcohol (µg/100 ml) at or above which a reason is needed to dose. "
        "Set by the clinical lead; while unset, alcohol-flagged service users cannot be dosed.",
    )
    breath_withhold_threshold = models.DecimalField(
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Breath alcohol (µg/100 ml) at or above which the dose is withheld.",
    )
    max_daily_total_mg = models.DecimalField(
        "daily ceiling (mg)",
        max_digits=7,
        decimal_places=2,
        default=ABSOLUTE_MAX_DAILY_MG,
        validators=[
            MaxValueValidator(
                ABSOLUTE_MAX_DAILY_MG,
                message="No daily total may be above 1,000 mg (at most 1,000 mg).",
            ),
            MinValueValidator(Decimal("1"), message="The daily ceiling must be at least 1 mg."),
        ],
        help_text="The clinic's ceiling on a daily diamorphine total; never above 1,000 mg.",
    )
    capacity = models.PositiveIntegerField(default=15)
    review_interval_days = models.PositiveSmallIntegerField(default=7)
    tox_interval_days = models.PositiveSmallIntegerField(default=7)
    methadone_uncollected_days = models.PositiveSmallIntegerField(default=3)
    eligibility_levels = models.JSONField(
        default=default_eligibility_levels,
        validators=[validate_eligibility_levels],
        help_text="Each eligibility criterion: required, advisory or off.",
    )
    take_home_levels = models.JSONField(
        default=default_take_home_levels,
        validators=[validate_take_home_levels],
        help_text="Each take-home criterion: required, advisory or off.",
    )
    take_home_maintenance_weeks = models.PositiveSmallIntegerField(
        "weeks in maintenance for take-home",
        default=12,
        help_text="Take-home needs at least this many weeks in maintenance, unbroken.",
    )
    take_home_adherence_percent = models.PositiveSmallIntegerField(
        "attendance for take-home (%)",
        default=90,
        validators=[MaxValueValidator(100, message="Attendance is at most 100%%.")],
        help_text="Take-home needs at least this share of sessions taken over the recent weeks.",
    )
    take_home_recent_weeks = models.PositiveSmallIntegerField(
        "recent weeks for take-home",
        default=4,
        help_text="The weeks over which attendance, adverse events, sedation withholds and "
        "re-titration are looked at.",
    )
    take_home_tox_screens = models.PositiveSmallIntegerField(
        "tox screens clear of street heroin for take-home",
        default=3,
        help_text="Take-home needs this many latest tox screens, none with a street-heroin marker.",
    )
    take_home_max_per_week = models.PositiveSmallIntegerField(
        "most take-home doses a week",
        default=7,
        help_text="No service user may be prescribed more take-home doses in a week.",
    )
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "clinic policies"
        ordering = ["clinic", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "effective_from"], name="one_policy_version_per_instant"
            ),
            models.CheckConstraint(
                condition=Q(capacity__gt=0),
                name="policy_capacity_positive",
                violation_error_message="Capacity must be at least one place.",
            ),
            models.CheckConstraint(
                condition=Q(max_daily_total_mg__gt=0)
                & Q(max_daily_total_mg__lte=ABSOLUTE_MAX_DAILY_MG),
                name="policy_daily_ceiling_within_1000mg",
                violation_error_message="The daily ceiling must be above 0 and at most 1,000 mg.",
            ),
            models.CheckConstraint(
                condition=Q(retitration_threshold__gt=0)
                & Q(missed_warning_threshold__gt=0)
                & Q(missed_warning_threshold__lte=F("retitration_threshold")),
                name="policy_missed_thresholds_ordered",
                violation_error_message=(
                    "The missed-dose warning must come no later than re-titration, "
                    "and both must be at least 1."
                ),
            ),
            models.CheckConstraint(
                condition=Q(retitration_days__gt=0)
                & Q(max_injection_mg__gt=0)
                & Q(max_injection_mg__lte=F("max_daily_total_mg"))
                & Q(maintenance_rise_days__gt=0),
                name="policy_lapse_and_injection_limits",
                violation_error_message=(
                    "Re-titration days and the maintenance rise period must be at least 1; "
                    "the ceiling per injection must be above 0 mg and not above the daily "
                    "ceiling."
                ),
            ),
            models.CheckConstraint(
                condition=Q(take_home_adherence_percent__lte=100)
                & Q(take_home_recent_weeks__gt=0)
                & Q(take_home_tox_screens__gt=0)
                & Q(take_home_max_per_week__gt=0),
                name="policy_take_home_values",
                violation_error_message=(
                    "Take-home attendance is at most 100%; the recent weeks, the tox screens "
                    "and the weekly maximum are at least 1."
                ),
            ),
            models.CheckConstraint(
                condition=Q(breath_caution_threshold__isnull=True)
                | Q(breath_withhold_threshold__isnull=True)
                | Q(breath_caution_threshold__lte=F("breath_withhold_threshold")),
                name="policy_breath_caution_not_above_withhold",
                violation_error_message=(
                    "The breath caution threshold must not be above the withhold threshold."
                ),
            ),
        ]
        indexes = [
            # Serves policy_in_force(): the latest version with effective_from <= T.
            models.Index(fields=["clinic", "-effective_from"], name="policy_in_force_idx"),
        ]

    def __str__(self):
        return f"{self.clinic} policy from {self.effective_from:%Y-%m-%d %H:%M}"

    def take_home_terms(self) -> list[tuple[str, str, str]]:
        """Each take-home criterion as the policy page reads it: what it asks, with
        its number, and its level."""
        recent = weeks(self.take_home_recent_weeks)
        asks = {
            TakeHomeCriterion.MAINTENANCE: f"At least {self.take_home_maintenance_weeks} "
            "weeks in maintenance",
            TakeHomeCriterion.ADHERENCE: f"At least {self.take_home_adherence_percent}% of "
            f"sessions taken over {recent}",
            TakeHomeCriterion.CLEAN_TOX: f"No street-heroin marker in the last "
            f"{self.take_home_tox_screens} tox screens",
            TakeHomeCriterion.NO_ADVERSE_EVENT: (
                f"No adverse event or sedation withhold in {recent}"
            ),
            TakeHomeCriterion.NO_RETITRATION: f"No re-titration in {recent}",
            TakeHomeCriterion.WEEKLY_MAXIMUM: f"At most {self.take_home_max_per_week} "
            "take-home doses a week",
        }
        levels = self.take_home_levels
        return [
            (criterion.value, asks[criterion], levels.get(criterion.value, "required"))
            for criterion in TakeHomeCriterion
        ]

    @property
    def breath_thresholds_set(self) -> bool:
        return (
            self.breath_caution_threshold is not None and self.breath_withhold_threshold is not None
        )


class DoseSlot(models.Model):
    """A daily dose slot and its window, in the clinic's local time.

    Slots are data, not code: adding an evening slot is a new policy version.
    """

    policy = models.ForeignKey(ClinicPolicy, on_delete=models.PROTECT, related_name="slots")
    code = models.CharField(max_length=12, help_text="Short name, for example AM or PM.")
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["policy", "opens_at"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "code"], name="slot_code_unique_in_policy"),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="slot_closes_after_it_opens"
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"

    def window_on(self, day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """The slot's window on a clinic day as aware instants.

        Built from the wall-clock times in the clinic's zone, so that on the days
        the UK clocks change the window still opens at 08:00 local time.
        """
        return (
            dt.datetime.combine(day, self.opens_at, tzinfo=zone),
            dt.datetime.combine(day, self.closes_at, tzinfo=zone),
        )
