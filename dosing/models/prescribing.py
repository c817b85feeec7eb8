"""Prescribing: versioned diamorphine and methadone prescriptions, reviews,
pharmacies, cancellations, service closure and reducing plans.

A prescription is never edited in place. A new version supersedes the one before
from its ``valid_from``; the version in force at an instant is the latest one that
has started by then, unless it has ended (``valid_to``).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from eligibility.models import ABSOLUTE_MAX_DAILY_MG, ServiceUser

DIAMORPHINE = "diamorphine hydrochloride"

# docs/domain.md, Swiss product rules: a new starter's first IV dose is at most 15 mg,
# with another 15 mg allowed if tolerated.
INDUCTION_FIRST_DOSE_MG = Decimal("15")
INDUCTION_TOPUP_MG = Decimal("15")
# During titration and re-titration a session dose may rise by at most 50%.
TITRATION_MAX_RISE = Decimal("1.5")
# After tolerance may be lost, the software suggests restarting at half the last dose.
RETITRATION_RESTART = Decimal("0.5")


class Purpose(models.TextChoices):
    INDUCTION = "induction", "Induction (first prescription)"
    TITRATION = "titration", "Titration"
    MAINTENANCE = "maintenance", "Maintenance"
    RETITRATION = "retitration", "Re-titration"
    REDUCTION = "reduction", "Reduction"


class Prescription(models.Model):
    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="prescriptions"
    )
    version = models.PositiveIntegerField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    drug = models.CharField(max_length=60, default=DIAMORPHINE, editable=False)
    route_iv = models.BooleanField("intravenous", default=True)
    route_im = models.BooleanField("intramuscular", default=False)
    topup_max_mg = models.DecimalField(
        "top-up allowance (mg)",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="At most this much more in a session, at least the top-up gap after the "
        "first injection.",
    )
    max_daily_total_mg = models.DecimalField(
        "maximum daily total (mg)", max_digits=7, decimal_places=2
    )
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    documented_transfer = models.BooleanField(
        default=False,
        help_text="The person transfers from another service on a documented dose, so the "
        "new-starter limit does not apply. Its evidence is recorded below.",
    )
    transfer_service = models.CharField(
        max_length=200, blank=True, default="", help_text="The service the person comes from."
    )
    transfer_last_dose_mg = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The last dose there, as documented (mg of diamorphine).",
    )
    transfer_last_dose_on = models.DateField(
        null=True, blank=True, help_text="The day of that last dose."
    )
    transfer_confirmed_by = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Who confirmed the dose, and how (for example the other service's "
        "prescriber, by phone).",
    )
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prescriptions_issued"
    )
    plan = models.ForeignKey(
        "ReducingPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="versions",
        help_text="The reducing plan that generated this version, if any.",
    )
    reason = models.TextField()
    clinical_reason = models.TextField(
        blank=True,
        default="",
        help_text="The written clinical reason a dose above a limit needs: a re-titration "
        "restart above half the dose before the lapse, or a maintenance rise above the "
        "clinic's step.",
    )
    caution = models.TextField(
        blank=True,
        default="",
        help_text="The limit the clinical reason answers, with its numbers: shown on the "
        "review page.",
    )
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["service_user", "-valid_from", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_user", "version"], name="prescription_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="prescription_valid_to_after_valid_from",
            ),
            models.CheckConstraint(
                condition=Q(max_daily_total_mg__gt=0)
                & Q(max_daily_total_mg__lte=ABSOLUTE_MAX_DAILY_MG),
                name="prescription_daily_total_within_1000mg",
            ),
            models.CheckConstraint(
                condition=Q(topup_max_mg__isnull=True) | Q(topup_max_mg__gt=0),
                name="prescription_topup_positive",
            ),
            models.CheckConstraint(
                condition=Q(route_iv=True) | Q(route_im=True), name="prescription_has_a_route"
            ),
        ]
        indexes = [
            # Serves prescription_in_force(): a person's latest version started by T.
            models.Index(
                fields=["service_user", "-valid_from", "-version"], name="prescription_in_force_idx"
            ),
        ]
        permissions = [("prescribe", "Can issue prescriptions")]

    def __str__(self):
        return f"{self.service_user} prescription v{self.version}"

    @property
    def routes(self) -> list[str]:
        return [code for code, on in (("iv", self.route_iv), ("im", self.route_im)) if on]

    def dose_for(self, slot_code: str) -> Decimal | None:
        for slot_dose in self.slot_doses.all():
            if slot_dose.slot_code == slot_code:
                return slot_dose.dose_mg
        return None


class PrescriptionSlotDose(models.Model):
    """The dose for one daily slot (AM, PM, ...) in one prescription version."""

    prescription = models.ForeignKey(
        Prescription, on_delete=models.PROTECT, related_name="slot_doses"
    )
    slot_code = models.CharField(max_length=12)
    dose_mg = models.DecimalField(max_digits=7, decimal_places=2)

    class Meta:
        ordering = ["prescription", "slot_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription", "slot_code"], name="one_dose_per_slot_per_prescription"
            ),
            models.CheckConstraint(condition=Q(dose_mg__gt=0), name="slot_dose_positive"),
        ]

    def __str__(self):
        return f"{self.slot_code} {self.dose_mg} mg"


class ReviewDecision(models.TextChoices):
    CONTINUE = "continue", "Continue"
    INCREASE = "increase", "Increase"
    REDUCE = "reduce", "Reduce"
    RETITRATE = "retitrate", "Re-titrate"


class Review(models.Model):
    """A prescriber's weekly review of a service user, and what was decided.

    Append-only: a later review supersedes an earlier one, nothing is edited.
    """

    service_user = models.ForeignKey(ServiceUser, on_delete=models.PROTECT, related_name="reviews")
    reviewed_at = models.DateTimeField()
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews_done"
    )
    decision = models.CharField(max_length=12, choices=ReviewDecision.choices)
    notes = models.TextField()
    prescription = models.OneToOneField(
        Prescription,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="review",
        help_text="The prescription version issued in the same step, if any.",
    )

    class Meta:
        ordering = ["service_user", "-reviewed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=ReviewDecision.values), name="review_decision_valid"
            ),
        ]
        indexes = [
            # Serves the review queue: each person's latest review (Max per service user).
            models.Index(fields=["service_user", "-reviewed_at"], name="review_latest_idx"),
        ]

    def __str__(self):
        return f"Review of {self.service_user} on {self.reviewed_at:%Y-%m-%d}: {self.decision}"


class Pharmacy(models.Model):
    """A community pharmacy where service users collect their overnight methadone."""

    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="pharmacies"
    )
    name = models.CharField(max_length=120)
    address = models.TextField()
    ods_code = models.CharField("ODS code", max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    active = models.BooleanField(
        default=True,
        help_text="A pharmacy no longer used: no new methadone prescription may name it.",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "pharmacies"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "name"], name="pharmacy_name_unique_in_clinic"
            )
        ]

    def __str__(self):
        return self.name


class MethadonePrescription(models.Model):
    """Overnight oral methadone cover, collected daily from a named pharmacy.

    Versioned exactly as the diamorphine prescription: never edited, superseded
    from the next version's ``valid_from``.
    """

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="methadone_prescriptions"
    )
    version = models.PositiveIntegerField()
    nightly_dose_mg = models.DecimalField("nightly dose (mg)", max_digits=6, decimal_places=2)
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["service_user", "-valid_from", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_user", "version"], name="methadone_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(nightly_dose_mg__gt=0), name="methadone_dose_positive"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="methadone_valid_to_after_valid_from",
            ),
        ]
        indexes = [
            # Serves the methadone version in force: a person's latest started by T.
            models.Index(
                fields=["service_user", "-valid_from", "-version"], name="methadone_in_force_idx"
            ),
        ]

    def __str__(self):
        return f"{self.service_user} methadone v{self.version}: {self.nightly_dose_mg} mg"


class PrescriptionCancellation(models.Model):
    """Withdraws a future version before it takes effect. The version stays on record."""

    prescription = models.OneToOneField(
        Prescription, on_delete=models.PROTECT, related_name="cancellation"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField()
    reason = models.TextField()

    def __str__(self):
        return f"Cancellation of {self.prescription}"


class ServiceClosure(models.Model):
    """A manager's record that the service closes on a date, for example when funding ends.

    Service users were promised six months' notice; a shorter notice is flagged.
    """

    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="closures"
    )
    closes_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    reason = models.TextField()
    short_notice = models.BooleanField(
        help_text="Recorded less than six months before the closure date."
    )

    class Meta:
        ordering = ["clinic", "-recorded_at"]

    def __str__(self):
        return f"{self.clinic} closes on {self.closes_on:%d %b %Y}"


class ReducingPlan(models.Model):
    """An exit plan: the dose falls by a share of the starting dose each week, to zero
    or to a switch date. Activating it issues the future prescription versions."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="reducing_plans"
    )
    weekly_reduction_percent = models.DecimalField(max_digits=5, decimal_places=2)
    starts_at = models.DateTimeField(help_text="When the first reduced version starts.")
    switch_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The prescription ends here (switch to oral treatment, closure). "
        "Empty: reduce to zero.",
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    closure = models.ForeignKey(
        ServiceClosure, null=True, blank=True, on_delete=models.PROTECT, related_name="plans"
    )
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    activated_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["service_user", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekly_reduction_percent__gt=0) & Q(weekly_reduction_percent__lte=100),
                name="plan_reduction_between_0_and_100",
            ),
            models.CheckConstraint(
                condition=Q(switch_at__isnull=True) | Q(switch_at__gt=F("starts_at")),
                name="plan_switch_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.service_user}: -{self.weekly_reduction_percent}% a week ({self.state})"
