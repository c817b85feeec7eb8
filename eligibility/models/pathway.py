"""Before admission: referrals, the eligibility assessment, the prescriber's decision,
the waiting list and the signed treatment agreement."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Criterion(models.TextChoices):
    """docs/domain.md's typical eligibility criteria. Each clinic sets each one to
    required, advisory or off in its policy."""

    ADULT = "adult", "Aged 18 or over"
    DEPENDENT_2_YEARS = "dependent_2_years", "Opioid dependent for at least 2 years"
    TWO_ATTEMPTS = "two_attempts", "At least 2 earlier treatment attempts that did not help"
    INJECTING = "injecting", "Current injecting opioid use"
    STABLE_ON_METHADONE = "stable_on_methadone", "Stable on methadone before starting"
    NO_CONTRAINDICATION = (
        "no_contraindication",
        "No contraindication (for example severe respiratory disease)",
    )
    CAPACITY_TO_CONSENT = "capacity_to_consent", "Capacity to consent"
    CATCHMENT = "catchment", "Lives in the catchment area"
    AGREEMENT = "agreement", "Will sign the treatment agreement"


class Level(models.TextChoices):
    REQUIRED = "required", "Required"
    ADVISORY = "advisory", "Advisory"
    OFF = "off", "Off"


def default_eligibility_levels() -> dict[str, str]:
    """Every criterion required, except "stable on methadone first": the 2019-22
    clinic's service users said it shut out the people HAT is for (docs/domain.md)."""
    levels = dict.fromkeys(Criterion.values, Level.REQUIRED.value)
    levels[Criterion.STABLE_ON_METHADONE] = Level.ADVISORY.value
    return levels


def check_levels(value, criteria: type[models.TextChoices], what: str) -> None:
    """A policy's map of criteria to levels: known criteria, each required, advisory
    or off. ``what`` names the list in the refusal ("eligibility", "take-home")."""
    if not isinstance(value, dict):
        raise ValidationError(f"The {what} criteria must map each criterion to a level.")
    unknown = sorted(set(value) - set(criteria.values))
    if unknown:
        raise ValidationError(f"Unknown {what} criteria: {', '.join(unknown)}.")
    wrong = sorted(code for code, level in value.items() if level not in Level.values)
    if wrong:
        raise ValidationError(
            f"Set each {what} criterion to required, advisory or off (check: {', '.join(wrong)})."
        )


def validate_eligibility_levels(value) -> None:
    check_levels(value, Criterion, "eligibility")


class ReferralDecision(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Referral(models.Model):
    """One referral of a person to the clinic, from its receipt through the decision
    and the waiting list to admission. It stays open while the person is in
    treatment, and closes when declined or on exit; a re-referral is a new one."""

    service_user = models.ForeignKey(
        "eligibility.ServiceUser", on_delete=models.PROTECT, related_name="referrals"
    )
    clinic = models.ForeignKey("eligibility.Clinic", on_delete=models.PROTECT, related_name="+")
    referred_by = models.CharField(
        max_length=200, help_text="Who referred: a person and their service."
    )
    referral_date = models.DateField()
    substance_use_history = models.TextField()
    treatment_history = models.TextField(help_text="Earlier treatment attempts and how they went.")
    risk_notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    decision = models.CharField(max_length=10, choices=ReferralDecision.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    advisory_reason = models.TextField(
        blank=True, help_text="Why accepted although an advisory criterion is not met."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Waiting list priority: 1 is the most urgent."
    )
    offered_at = models.DateTimeField(
        null=True, blank=True, help_text="When a free place was offered."
    )
    admitted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-referral_date", "-pk"]
        permissions = [
            ("decide_referral", "Can accept or decline a referral"),
            ("admit", "Can admit an accepted service user to treatment"),
        ]
        constraints = [
            # A person is on the pathway once at a time.
            models.UniqueConstraint(
                fields=["service_user"],
                condition=Q(closed_at__isnull=True),
                name="one_open_referral_per_person",
                violation_error_message="This person already has an open referral.",
            ),
            models.CheckConstraint(
                condition=Q(decision="")
                | (Q(decided_by__isnull=False, decided_at__isnull=False) & ~Q(decision_reason="")),
                name="referral_decided_with_who_when_why",
            ),
            models.CheckConstraint(
                condition=Q(admitted_at__isnull=True) | Q(decision=ReferralDecision.ACCEPTED),
                name="referral_admitted_only_if_accepted",
            ),
            models.CheckConstraint(
                condition=Q(priority__isnull=True) | Q(priority__gte=1, priority__lte=3),
                name="referral_priority_1_to_3",
            ),
        ]
        indexes = [
            # Serves the waiting list and the place-offer scan: a clinic's accepted
            # referrals not yet admitted, by priority then date accepted.
            models.Index(
                fields=["clinic", "priority", "decided_at"],
                condition=Q(decision="accepted", admitted_at__isnull=True, closed_at__isnull=True),
                name="referral_waiting_idx",
            ),
        ]

    def __str__(self):
        return f"Referral of {self.service_user} on {self.referral_date}"


class EligibilityAssessment(models.Model):
    """The checklist of the policy in force, answered with evidence."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="assessments")
    policy = models.ForeignKey(
        "eligibility.ClinicPolicy", on_delete=models.PROTECT, related_name="+"
    )
    notes = models.TextField(blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-assessed_at", "-pk"]

    def __str__(self):
        return (
            f"Eligibility assessment of {self.referral.service_user} at {self.assessed_at:%Y-%m-%d}"
        )


class CriterionAnswer(models.Model):
    assessment = models.ForeignKey(
        EligibilityAssessment, on_delete=models.PROTECT, related_name="answers"
    )
    criterion = models.CharField(max_length=24, choices=Criterion.choices)
    level = models.CharField(
        max_length=10, choices=Level.choices, help_text="The level when assessed."
    )
    met = models.BooleanField()
    evidence = models.TextField()

    class Meta:
        ordering = ["assessment", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "criterion"], name="one_answer_per_criterion"
            ),
            models.CheckConstraint(condition=~Q(evidence=""), name="answer_has_evidence"),
        ]

    def __str__(self):
        return f"{self.get_criterion_display()}: {'met' if self.met else 'not met'}"


class TreatmentAgreement(models.Model):
    """The signed treatment agreement recorded at admission."""

    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="agreement")
    signed_on = models.DateField()
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    def __str__(self):
        return f"Treatment agreement signed {self.signed_on}"
