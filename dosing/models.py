"""Prescriptions: versioned, never edited in place.

A new version supersedes the one before from its ``valid_from``. The version in
force at an instant is the latest one that has started by then, unless it has
ended (``valid_to``). Dose sessions and the controlled drugs register follow.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from simple_history.models import HistoricalRecords

from eligibility.models import ABSOLUTE_MAX_DAILY_MG, ServiceUser

DIAMORPHINE = "diamorphine hydrochloride"

# DOMAIN.md, Swiss product rules: a new starter's first IV dose is at most 15 mg,
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


class Decision(models.TextChoices):
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
    decision = models.CharField(max_length=12, choices=Decision.choices)
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
                condition=Q(decision__in=Decision.values), name="review_decision_valid"
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


class SessionStatus(models.TextChoices):
    """API.md's fixed session status values."""

    SCHEDULED = "scheduled", "Scheduled"
    ASSESSED = "assessed", "Assessed"
    DEFERRED = "deferred", "Deferred"
    ADMINISTERED = "administered", "Administered"
    OBSERVED = "observed", "Complete"
    WITHHELD = "withheld", "Withheld"
    DECLINED = "declined", "Declined"
    MISSED = "missed", "Missed"
    EXCUSED = "excused", "Excused"


# A session with one of these has no outcome yet. When its window closes it is missed,
# or, if it was deferred for a reassessment that never came, withheld.
OPEN_SESSION_STATUSES = (SessionStatus.SCHEDULED, SessionStatus.ASSESSED, SessionStatus.DEFERRED)
# DOMAIN.md: a dose "taken" resets the consecutive count; these are "not taken".
TAKEN_STATUSES = (SessionStatus.ADMINISTERED, SessionStatus.OBSERVED)
NOT_TAKEN_STATUSES = (SessionStatus.WITHHELD, SessionStatus.DECLINED, SessionStatus.MISSED)


class MissedScan(models.Model):
    """One run of the missed-dose scan that found closed windows. Each session it
    marked missed points here, which is how the run knows which rows it claimed."""

    ran_at = models.DateTimeField()
    sessions_missed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self):
        return f"Missed-dose scan at {self.ran_at:%Y-%m-%d %H:%M} ({self.sessions_missed})"


class DoseSession(models.Model):
    """One service user's dose slot on one clinic day. Each ends in exactly one outcome.

    The window is stored as instants, computed from the slot's local times on the
    clinic day, so the UK clock changes neither move nor double a session.
    """

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="dose_sessions"
    )
    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="dose_sessions"
    )
    clinic_day = models.DateField()
    slot_code = models.CharField(max_length=12)
    policy = models.ForeignKey(
        "eligibility.ClinicPolicy",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The policy version the session was scheduled under.",
    )
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    status_changed_at = models.DateTimeField()
    outcome_reason = models.CharField(max_length=12, blank=True)
    outcome_note = models.TextField(blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    missed_scan = models.ForeignKey(
        MissedScan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
        help_text="The scan that settled the session when its window closed: missed, or "
        "withheld if it was still deferred.",
    )
    observation_due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When an administered session's observation is overdue: the last "
        "injection, plus the observation time, plus the clinic's grace period.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Every step of the session (assessed, administered, observed, withheld...) with who
    # took it and why; generation's bulk insert is the one step not recorded here.
    history = HistoricalRecords()

    class Meta:
        ordering = ["clinic_day", "opens_at", "service_user"]
        constraints = [
            # Generation may run twice, or in two workers at once: the database
            # keeps exactly one session per person, day and slot.
            models.UniqueConstraint(
                fields=["service_user", "clinic_day", "slot_code"],
                name="one_session_per_slot_per_day",
            ),
            models.CheckConstraint(
                condition=Q(closes_at__gt=F("opens_at")), name="session_window_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SessionStatus.values), name="session_status_valid"
            ),
        ]
        indexes = [
            # Serves the missed-dose scan: open sessions whose window has closed.
            models.Index(
                fields=["closes_at"],
                condition=Q(status__in=OPEN_SESSION_STATUSES),
                name="session_open_by_close_idx",
            ),
            # Serves the workload dashboard: withholds by reason in a date range.
            models.Index(
                fields=["clinic_day", "clinic", "outcome_reason"],
                condition=Q(status="withheld"),
                name="session_withheld_idx",
            ),
            # Serves the attendance dashboard's days after its roll-up and around the
            # whole weeks it rolled up (monitoring/rollups.py): all clinics' sessions
            # on a few days, by person and outcome, from the index alone.
            models.Index(
                fields=["clinic_day", "clinic", "service_user", "status", "slot_code"],
                name="session_day_idx",
            ),
            # Serves the observation-overdue scan: administered sessions whose
            # observation is past due (dosing.missed.observations_overdue_scan).
            models.Index(
                fields=["observation_due_at"],
                condition=Q(status="administered"),
                name="session_observation_due_idx",
            ),
            # Serves the today board: a clinic's sessions for a day and slot.
            models.Index(fields=["clinic", "clinic_day", "slot_code"], name="session_board_idx"),
            # Serves the consecutive count: a person's last taken session and the
            # sessions since (dosing.missed.consecutive_counts_apply).
            models.Index(fields=["service_user", "status", "opens_at"], name="session_person_idx"),
        ]

    def __str__(self):
        return f"{self.service_user} {self.clinic_day} {self.slot_code} ({self.status})"

    @property
    def observation_overdue(self) -> bool:
        """Dosed, and the observation not recorded by its due time: the board and the
        page mark it, and the overdue scan alerts on it."""
        return (
            self.status == SessionStatus.ADMINISTERED
            and self.observation_due_at is not None
            and self.observation_due_at <= timezone.now()
        )

    @property
    def assessment(self):
        """The latest pre-dose assessment, the one that decided (None before any). A
        deferred session has earlier ones too: ``assessments`` keeps them all."""
        assessments = list(self.assessments.all())
        return assessments[-1] if assessments else None


class Poss(models.TextChoices):
    """Pasero Opioid-induced Sedation Scale."""

    S = "S", "S: sleeping, easy to rouse"
    ONE = "1", "1: awake and alert"
    TWO = "2", "2: slightly drowsy, easily roused"
    THREE = "3", "3: frequently drowsy, drifts off to sleep mid-conversation"
    FOUR = "4", "4: somnolent, minimal or no response"


POSS_CAUTION = {Poss.TWO}
POSS_WITHHOLD = {Poss.THREE, Poss.FOUR}


class WithholdReason(models.TextChoices):
    SEDATION = "sedation", "Sedated (POSS 3 or 4)"
    ALCOHOL = "alcohol", "Breath alcohol at or above the withhold threshold"
    INTOXICATED = "intoxicated", "Intoxicated with other substances"
    CLINICAL = "clinical", "Other clinical concern"
    BEHAVIOUR = "behaviour", "Behaviour or safety in the dosing room"
    OTHER = "other", "Other"


class Assessment(models.Model):
    """The pre-dose checks, in DOMAIN.md's order: identity, sedation, breath alcohol,
    and what they led to: go on to the dose, withhold it, or defer it for a
    reassessment later in the window. A deferred session is assessed again, so a
    session may have several; ``sequence`` numbers them from 1."""

    class Decision(models.TextChoices):
        PROCEED = "proceed", "Go on to the dose"
        WITHHOLD = "withhold", "Withhold the dose"
        DEFER = "defer", "Defer: reassess later in this window"

    session = models.ForeignKey(DoseSession, on_delete=models.PROTECT, related_name="assessments")
    sequence = models.PositiveSmallIntegerField(default=1)
    decision = models.CharField(max_length=8, choices=Decision.choices, default=Decision.PROCEED)
    deferral_reason = models.CharField(
        max_length=12,
        blank=True,
        help_text="For a deferral: the withhold reason that applies if the window closes "
        "before a reassessment.",
    )
    identity_confirmed = models.BooleanField()
    poss = models.CharField("POSS", max_length=1, choices=Poss.choices)
    breath_mcg_per_100ml = models.DecimalField(
        "breath alcohol (µg/100 ml)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    caution_reason = models.TextField(blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "sequence"]
        permissions = [("assess", "Can record a pre-dose assessment")]
        constraints = [
            # Two nurses assessing the same session at once: one is numbered first.
            models.UniqueConstraint(fields=["session", "sequence"], name="assessment_sequence"),
            models.CheckConstraint(
                condition=~Q(decision="defer") | ~Q(deferral_reason=""),
                name="deferral_has_a_reason",
            ),
            models.CheckConstraint(
                condition=Q(identity_confirmed=True), name="assessment_identity_confirmed"
            ),
            models.CheckConstraint(
                condition=Q(breath_mcg_per_100ml__isnull=True) | Q(breath_mcg_per_100ml__gte=0),
                name="assessment_breath_not_negative",
            ),
        ]

    def __str__(self):
        return f"Assessment of {self.session}: POSS {self.poss}"


class Route(models.TextChoices):
    IV = "iv", "Intravenous"
    IM = "im", "Intramuscular"


class Site(models.TextChoices):
    ARM = "arm", "Arm"
    HAND = "hand", "Hand"
    LEG = "leg", "Leg"
    FOOT = "foot", "Foot"
    GROIN = "groin", "Groin (femoral)"
    DELTOID = "deltoid", "Deltoid"
    THIGH = "thigh", "Thigh (vastus lateralis)"
    GLUTEAL = "gluteal", "Gluteal"


SITES_FOR_ROUTE = {
    Route.IV: {Site.ARM, Site.HAND, Site.LEG, Site.FOOT, Site.GROIN},
    Route.IM: {Site.DELTOID, Site.THIGH, Site.GLUTEAL},
}
# DOMAIN.md: lower-limb IV needs a recorded risk discussion.
LOWER_LIMB_IV = {Site.LEG, Site.FOOT, Site.GROIN}


class Administration(models.Model):
    """One supervised self-injection: the first of a session, or a top-up.

    ``sequence`` is 1 for the first injection and 2 for a top-up; the unique
    constraint is what makes two nurses submitting the same dose at the same
    moment produce one record and one "already recorded".
    """

    session = models.ForeignKey(
        DoseSession, on_delete=models.PROTECT, related_name="administrations"
    )
    sequence = models.PositiveSmallIntegerField()
    drawn_mg = models.DecimalField("drawn up (mg)", max_digits=7, decimal_places=2)
    injected_mg = models.DecimalField("injected (mg)", max_digits=7, decimal_places=2)
    route = models.CharField(max_length=2, choices=Route.choices)
    site = models.CharField(max_length=10, choices=Site.choices)
    risk_discussion = models.TextField(blank=True)
    injected_at = models.DateTimeField()
    nurse = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "sequence"]
        permissions = [
            ("administer", "Can supervise and record an injection"),
            ("witness_dose", "Can witness an injection"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "sequence"], name="one_injection_per_sequence"
            ),
            models.CheckConstraint(
                condition=Q(sequence__in=[1, 2]), name="administration_first_or_topup"
            ),
            models.CheckConstraint(condition=Q(injected_mg__gt=0), name="injected_positive"),
            models.CheckConstraint(
                condition=Q(drawn_mg__gte=F("injected_mg")), name="drawn_at_least_injected"
            ),
            models.CheckConstraint(
                condition=~Q(witness=F("nurse")), name="witness_is_another_person"
            ),
        ]
        indexes = [
            # Serves the minimum-interval check and the last administered dose.
            models.Index(fields=["session", "-injected_at"], name="administration_time_idx"),
        ]

    def __str__(self):
        return f"{self.injected_mg} mg {self.route} at {self.injected_at:%H:%M} ({self.session})"

    @property
    def waste_mg(self):
        return self.drawn_mg - self.injected_mg


class Observation(models.Model):
    """Post-dose observation. A session is complete only when this is recorded."""

    class Outcome(models.TextChoices):
        NO_CONCERNS = "no_concerns", "No concerns"
        LEFT_EARLY = "left_early", "Left before the observation ended"
        ADVERSE_EVENT = "adverse_event", "Adverse event"

    session = models.OneToOneField(
        DoseSession, on_delete=models.PROTECT, related_name="observation"
    )
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    over_sedation = models.BooleanField(default=False)
    overdose = models.BooleanField(default=False)
    naloxone_mg = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    naloxone_at = models.DateTimeField(null=True, blank=True)
    ambulance_called = models.BooleanField(default=False)
    details = models.TextField(blank=True)
    observed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    observed_at = models.DateTimeField()

    class Meta:
        permissions = [("observe", "Can record a post-dose observation")]
        constraints = [
            models.CheckConstraint(
                condition=Q(naloxone_mg__isnull=True) | Q(naloxone_at__isnull=False),
                name="naloxone_has_a_time",
            ),
            # Over-sedation, overdose, naloxone or an ambulance is an adverse event
            # (the service refuses it as "no concerns"): the safety dashboard counts
            # them among adverse events only.
            models.CheckConstraint(
                condition=Q(outcome="adverse_event")
                | Q(
                    over_sedation=False,
                    overdose=False,
                    naloxone_mg__isnull=True,
                    ambulance_called=False,
                ),
                name="adverse_signs_are_an_adverse_event",
            ),
        ]
        indexes = [
            # Serves the workload and safety dashboard: adverse events in a range.
            models.Index(
                fields=["session"],
                condition=Q(outcome="adverse_event"),
                name="observation_adverse_idx",
            ),
        ]

    def __str__(self):
        return f"Observation of {self.session}: {self.outcome}"


# What staff call each field a correction may change: the correction form, the
# session page and the API's errors use these words, not the column names.
AMENDABLE_LABELS = {
    "poss": "Sedation (POSS)",
    "breath_mcg_per_100ml": "Breath alcohol (µg/100 ml)",
    "caution_reason": "Reason to go on at a caution",
    "drawn_mg": "Drawn up (mg)",
    "injected_mg": "Injected (mg)",
    "route": "Route",
    "site": "Site",
    "injected_at": "Time of injection",
    "risk_discussion": "Risk discussion",
    "outcome": "Outcome",
    "details": "Details",
    "naloxone_mg": "Naloxone (mg)",
    "naloxone_at": "Naloxone time",
    "over_sedation": "Over-sedation",
    "overdose": "Overdose",
    "ambulance_called": "Ambulance called",
    "outcome_note": "Outcome note",
}


class Amendment(models.Model):
    """A dated correction of a dose session's record. The original is never changed:
    this row says what was corrected, from what to what, by whom, when and why, and
    both stay visible (Misuse of Drugs Regulations 2001, reg. 20)."""

    class Record(models.TextChoices):
        ASSESSMENT = "assessment", "Assessment"
        ADMINISTRATION = "administration", "Injection"
        OBSERVATION = "observation", "Observation"
        OUTCOME = "outcome", "Outcome note"

    session = models.ForeignKey(DoseSession, on_delete=models.PROTECT, related_name="amendments")
    record = models.CharField(max_length=14, choices=Record.choices)
    administration = models.ForeignKey(
        Administration,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="amendments",
    )
    # A deferred session has several assessments: a correction names the one it corrects.
    assessment = models.ForeignKey(
        Assessment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="amendments",
    )
    changes = models.JSONField(help_text='{"field": {"from": "...", "to": "..."}}')
    reason = models.TextField()
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A correction of an injection is witnessed like the injection itself.",
    )
    amended_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "amended_at", "pk"]
        permissions = [("amend", "Can correct a dose session record by amendment")]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="amendment_has_a_reason"),
            models.CheckConstraint(
                condition=Q(record="administration", administration__isnull=False)
                | (~Q(record="administration") & Q(administration__isnull=True)),
                name="amendment_names_its_injection",
            ),
            models.CheckConstraint(
                condition=Q(record="assessment", assessment__isnull=False)
                | (~Q(record="assessment") & Q(assessment__isnull=True)),
                name="amendment_names_its_assessment",
            ),
        ]

    def __str__(self):
        return f"Amendment of {self.session} {self.record} at {self.amended_at:%Y-%m-%d %H:%M}"

    @property
    def readable_changes(self) -> list[tuple[str, str, str]]:
        """Each change as staff read it: the field's label, from, to (times local)."""
        return [
            (AMENDABLE_LABELS.get(name, name), _readable(change["from"]), _readable(change["to"]))
            for name, change in self.changes.items()
        ]


def _readable(value: str) -> str:
    """A stored value as staff read it: a time in the clinic's zone, yes or no, a
    choice's label; "—" for nothing."""
    if value in ("", None):
        return "—"
    if value in ("True", "False"):
        return "yes" if value == "True" else "no"
    if len(value) > 16 and value[10:11] == "T":
        when = parse_datetime(value)
        if when is not None:
            return f"{timezone.localtime(when):%H:%M}"
    for choices in (Route, Site, Observation.Outcome):
        if value in choices.values:
            return choices(value).label
    return value


class WitnessFailure(models.Model):
    """A wrong witness password. The witness field checks credentials like the login page,
    so it is limited like the login page: too many failures lock that witness out of
    witnessing at that clinic. Only a member of the clinic's staff has failures counted."""

    username = models.CharField(max_length=150)
    clinic = models.ForeignKey("eligibility.Clinic", on_delete=models.CASCADE, related_name="+")
    failed_at = models.DateTimeField()
    nurse = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        indexes = [
            # Serves the lockout check: a witness's failures at a clinic within the cool-off.
            models.Index(fields=["username", "clinic", "failed_at"], name="witness_failure_idx"),
        ]

    def __str__(self):
        return f"Witness failure for {self.username} at {self.failed_at:%H:%M}"


class Suspension(models.Model):
    """A temporary stop (hospital, custody): not an exit. Sessions inside it are
    excused; on return the person resumes, or needs re-titration when it spanned the
    clinic's threshold of sessions without confirmed opioid cover (DOMAIN.md)."""

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", "Hospital admission"
        CUSTODY = "custody", "Custody"

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="suspensions"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    starts_on = models.DateField()
    expected_end_on = models.DateField(null=True, blank=True)
    reason = models.TextField()
    status_before = models.CharField(max_length=24, help_text="The status to resume.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    returned_on = models.DateField(null=True, blank=True)
    opioid_cover_confirmed = models.BooleanField(
        default=False,
        help_text="A prescriber confirmed opioid cover for the whole time (e.g. hospital "
        "gave methadone): no re-titration on return.",
    )
    sessions_missed = models.PositiveIntegerField(
        null=True, blank=True, help_text="Sessions excused during it, counted on return."
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_user"],
                condition=Q(ended_at__isnull=True),
                name="one_open_suspension_per_person",
            ),
            models.CheckConstraint(
                condition=Q(expected_end_on__isnull=True) | Q(expected_end_on__gte=F("starts_on")),
                name="suspension_ends_after_it_starts",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} from {self.starts_on}"


class ExitKind(models.TextChoices):
    PLANNED = "planned", "Planned"
    UNPLANNED = "unplanned", "Unplanned"
    SERVICE_CLOSURE = "service_closure", "Service closure"


class ExitDetail(models.TextChoices):
    """DOMAIN.md's exits, each under its kind."""

    TAPER_COMPLETED = "taper_completed", "Taper completed"
    ORAL_TREATMENT = "oral_treatment", "Transfer to oral treatment"
    RESIDENTIAL_REHAB = "residential_rehab", "Transfer to residential rehab"
    DISENGAGED = "disengaged", "Disengaged"
    EXCLUDED = "excluded", "Excluded for safety"
    CUSTODY = "custody", "Custody"
    DECEASED = "deceased", "Deceased"
    SERVICE_CLOSURE = "service_closure", "Service closure"


EXIT_DETAILS = {
    ExitKind.PLANNED: (
        ExitDetail.TAPER_COMPLETED,
        ExitDetail.ORAL_TREATMENT,
        ExitDetail.RESIDENTIAL_REHAB,
    ),
    ExitKind.UNPLANNED: (
        ExitDetail.DISENGAGED,
        ExitDetail.EXCLUDED,
        ExitDetail.CUSTODY,
        ExitDetail.DECEASED,
    ),
    ExitKind.SERVICE_CLOSURE: (ExitDetail.SERVICE_CLOSURE,),
}


class Exit(models.Model):
    """The end of a treatment episode. It frees the place; re-referral starts a new
    episode and keeps this one on record."""

    service_user = models.ForeignKey(ServiceUser, on_delete=models.PROTECT, related_name="exits")
    referral = models.OneToOneField(
        "eligibility.Referral",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exit",
        help_text="The referral (and, once admitted, the treatment episode) this exit "
        "closed; the retention dashboard reads episodes from here.",
    )
    kind = models.CharField(max_length=16, choices=ExitKind.choices)
    detail = models.CharField(max_length=20, choices=ExitDetail.choices)
    reason = models.TextField()
    exited_on = models.DateField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-exited_on", "-pk"]
        indexes = [
            # Serves the retention dashboards: exits by kind over a date range.
            models.Index(fields=["kind", "exited_on"], name="exit_kind_date_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} exit of {self.service_user} on {self.exited_on}"


class RegisterSection(models.Model):
    """One drug and strength in a clinic's controlled drugs register (Misuse of Drugs
    Regulations 2001, reg. 19): its own page of entries in time order. Quantities
    are in mg; the balance is the sum of the entries, kept here too so that an entry
    is checked against it under this row's lock."""

    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="register_sections"
    )
    drug = models.CharField(max_length=60, default=DIAMORPHINE)
    strength_mg = models.DecimalField(max_digits=7, decimal_places=2)
    form = models.CharField(max_length=30, default="ampoule")
    supplies_doses = models.BooleanField(
        default=False,
        help_text="The section that each administration's drawn dose is supplied from.",
    )
    balance_mg = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic", "drug", "strength_mg"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "drug", "strength_mg", "form"], name="one_section_per_product"
            ),
            models.UniqueConstraint(
                fields=["clinic"],
                condition=Q(supplies_doses=True),
                name="one_dose_supply_section_per_clinic",
            ),
            models.CheckConstraint(
                condition=Q(balance_mg__gte=0),
                name="register_balance_never_negative",
                violation_error_message="The register balance can never be negative.",
            ),
            models.CheckConstraint(condition=Q(strength_mg__gt=0), name="strength_positive"),
        ]

    def __str__(self):
        return (
            f"{self.drug.capitalize()} {format(self.strength_mg.normalize(), 'f')} mg {self.form}"
        )


class EntryKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SUPPLY = "supply", "Supply"
    WASTE = "waste", "Waste"
    DESTRUCTION = "destruction", "Destruction of stock"
    STOCK_CHECK = "stock_check", "Stock check"
    CORRECTION = "correction", "Correction"


class RegisterEntry(models.Model):
    """One line of a register section. Never updated or deleted (a database trigger
    refuses it): a mistake is answered by a correction, a dated note pointing here."""

    section = models.ForeignKey(RegisterSection, on_delete=models.PROTECT, related_name="entries")
    sequence = models.PositiveIntegerField(help_text="The entry's place in the section, from 1.")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    occurred_at = models.DateTimeField()
    quantity_in_mg = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    quantity_out_mg = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    balance_mg = models.DecimalField(
        max_digits=10, decimal_places=2, help_text="The balance after this entry."
    )
    ampoules = models.PositiveIntegerField(null=True, blank=True)
    supplier_name = models.CharField(max_length=200, blank=True)
    supplier_address = models.TextField(blank=True)
    batch = models.CharField(max_length=60, blank=True)
    expiry = models.DateField(null=True, blank=True)
    session = models.ForeignKey(
        DoseSession,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    administration = models.ForeignKey(
        "Administration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    counted_mg = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    waste_mg = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="For waste: the amount destroyed. A dose's waste was already counted out "
        "in its supply, so it does not move the balance again.",
    )
    corrected_mg = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="For a correction of an amount: what the corrected entry's amount now "
        "reads (a supply's drawn amount, or a waste's amount).",
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["section", "sequence"]
        verbose_name_plural = "register entries"
        permissions = [
            ("receive_stock", "Can receive controlled drug stock"),
            ("witness_cd_destruction", "Can witness the destruction of controlled drugs"),
        ]
        constraints = [
            # Time order, one line after another, even when two entries race.
            models.UniqueConstraint(fields=["section", "sequence"], name="register_sequence"),
            models.CheckConstraint(
                condition=Q(balance_mg__gte=0), name="register_entry_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(quantity_in_mg__gte=0, quantity_out_mg__gte=0),
                name="register_quantities_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.RECEIPT)
                | (~Q(supplier_name="") & ~Q(batch="") & Q(expiry__isnull=False)),
                name="receipt_has_supplier_batch_expiry",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.SUPPLY) | Q(session__isnull=False),
                name="supply_linked_to_session",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[EntryKind.WASTE, EntryKind.DESTRUCTION])
                | Q(witness__isnull=False),
                name="waste_and_destruction_witnessed",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.CORRECTION) | (Q(corrects__isnull=False) & ~Q(note="")),
                name="correction_refers_and_explains",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.WASTE) | Q(waste_mg__gt=0),
                name="waste_has_an_amount",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="register_kind_valid"
            ),
        ]

    def __str__(self):
        return f"{self.section} #{self.sequence}: {self.get_kind_display()}"


class BreathTest(models.Model):
    """A breath alcohol reading in micrograms per 100 ml of breath. One taken at a
    pre-dose assessment is linked to that session."""

    service_user = models.ForeignKey(
        "eligibility.ServiceUser", on_delete=models.PROTECT, related_name="breath_tests"
    )
    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="breath_tests"
    )
    session = models.ForeignKey(
        "dosing.DoseSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="breath_tests",
    )
    taken_at = models.DateTimeField()
    clinic_day = models.DateField(help_text="The clinic's calendar day of taken_at.")
    reading_mcg_per_100ml = models.DecimalField(
        "reading (µg/100 ml)", max_digits=5, decimal_places=1
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    history = HistoricalRecords(table_name="monitoring_historicalbreathtest")

    class Meta:
        # The tables kept the names they had before breath tests moved beside the
        # dose session that needs them.
        db_table = "monitoring_breathtest"
        ordering = ["-taken_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(reading_mcg_per_100ml__gte=0) & Q(reading_mcg_per_100ml__lte=500),
                name="breath_reading_in_range",
                violation_error_message="A breath reading is between 0 and 500 µg/100 ml.",
            ),
        ]
        indexes = [
            # Serves the breath-missing scan and the service user's page.
            models.Index(fields=["service_user", "clinic_day"], name="breath_by_person_day_idx"),
        ]

    def __str__(self):
        return f"{self.reading_mcg_per_100ml} µg/100 ml at {self.taken_at:%Y-%m-%d %H:%M}"
