"""What the dosing room records about a session: the pre-dose assessment, each
injection, the observation after it, amendments to them, failed witness
sign-offs, and breath tests."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from simple_history.models import HistoricalRecords

from .sessions import DoseSession


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
    """The pre-dose checks, in docs/domain.md's order: identity, sedation, breath alcohol,
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
# docs/domain.md: lower-limb IV needs a recorded risk discussion.
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
