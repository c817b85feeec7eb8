"""Alerts, monitoring records, and the scheduler's heartbeat."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.roles import Role


class Heartbeat(models.Model):
    """When a periodic job last ran. Missed-dose detection depends on beat and a
    worker being alive; a stale heartbeat is how staff can tell they are not."""

    name = models.CharField(max_length=80, unique=True)
    last_seen_at = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} at {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class AlertKind(models.TextChoices):
    """DOMAIN.md's alert kinds."""

    MISSED_DOSE = "missed_dose", "Missed dose"
    CONSECUTIVE_MISSED = "consecutive_missed", "Consecutive doses not taken"
    RETITRATION_REQUIRED = "retitration_required", "Re-titration required"
    TOX_OVERDUE = "tox_overdue", "Tox screen overdue"
    REVIEW_OVERDUE = "review_overdue", "Prescriber review overdue"
    METHADONE_UNCOLLECTED = "methadone_uncollected", "Methadone not collected"
    BREATH_MISSING = "breath_missing", "Breath test missing"
    REGISTER_DISCREPANCY = "register_discrepancy", "Controlled drugs register discrepancy"
    PLACE_OFFERED = "place_offered", "Place offered from the waiting list"
    ADVERSE_EVENT = "adverse_event", "Adverse event after a dose"
    OBSERVATION_OVERDUE = "observation_overdue", "Observation not recorded"
    DUPLICATE_REGISTRATION = "duplicate_registration", "Possible duplicate registration"
    METHADONE_CONFLICT = "methadone_conflict", "Methadone reports disagree"


class Severity(models.IntegerChoices):
    """Higher is more urgent, so the inbox sorts by severity descending."""

    NOTICE = 1, "Notice"
    WARNING = 2, "Warning"
    URGENT = 3, "Urgent"


# How urgent each kind is, and which roles are told of it by e-mail.
KIND_SEVERITY = {
    AlertKind.MISSED_DOSE: Severity.NOTICE,
    AlertKind.CONSECUTIVE_MISSED: Severity.WARNING,
    AlertKind.RETITRATION_REQUIRED: Severity.URGENT,
    AlertKind.TOX_OVERDUE: Severity.NOTICE,
    AlertKind.REVIEW_OVERDUE: Severity.WARNING,
    AlertKind.METHADONE_UNCOLLECTED: Severity.WARNING,
    AlertKind.BREATH_MISSING: Severity.NOTICE,
    AlertKind.REGISTER_DISCREPANCY: Severity.URGENT,
    AlertKind.PLACE_OFFERED: Severity.WARNING,
    AlertKind.ADVERSE_EVENT: Severity.URGENT,
    AlertKind.OBSERVATION_OVERDUE: Severity.URGENT,
    # The same person registered at two clinics may be prescribed at both.
    AlertKind.DUPLICATE_REGISTRATION: Severity.URGENT,
    AlertKind.METHADONE_CONFLICT: Severity.WARNING,
}
KIND_ROLES = {
    AlertKind.MISSED_DOSE: (Role.NURSE,),
    AlertKind.CONSECUTIVE_MISSED: (Role.NURSE,),
    AlertKind.RETITRATION_REQUIRED: (Role.NURSE, Role.PRESCRIBER),
    AlertKind.TOX_OVERDUE: (Role.NURSE, Role.PRESCRIBER),
    AlertKind.REVIEW_OVERDUE: (Role.PRESCRIBER,),
    AlertKind.METHADONE_UNCOLLECTED: (Role.NURSE, Role.PRESCRIBER),
    AlertKind.BREATH_MISSING: (Role.NURSE,),
    AlertKind.REGISTER_DISCREPANCY: (Role.MANAGER,),
    AlertKind.PLACE_OFFERED: (Role.PRESCRIBER, Role.MANAGER),
    # DOMAIN.md: an adverse event alerts prescribers and managers at once.
    AlertKind.ADVERSE_EVENT: (Role.PRESCRIBER, Role.MANAGER),
    AlertKind.OBSERVATION_OVERDUE: (Role.NURSE,),
    AlertKind.DUPLICATE_REGISTRATION: (Role.PRESCRIBER, Role.MANAGER),
    AlertKind.METHADONE_CONFLICT: (Role.NURSE, Role.PRESCRIBER),
}
# Kinds that only staff holding a permission see, in the inbox, the badge, a service
# user's page and timeline, and the API. A duplicate registration names another
# clinic: shown to every role, it would tell whoever recorded a referral who is in
# treatment elsewhere (issue 16.4).
RESTRICTED_KINDS = {
    AlertKind.DUPLICATE_REGISTRATION: "monitoring.view_duplicate_registration",
}


class Alert(models.Model):
    """A stored alert, open until a member of staff acknowledges it with a note.

    The cause key names what the alert is about (a session, a streak of sessions
    not taken, a review that is overdue), so that a scan that runs twice, late or
    in two workers at once raises it once: the database keeps at most one open
    alert per kind and cause.
    """

    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="alerts"
    )
    service_user = models.ForeignKey(
        "eligibility.ServiceUser",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
    )
    session = models.ForeignKey(
        "dosing.DoseSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alerts",
    )
    cause_key = models.CharField(max_length=120)
    detail = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True)
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the clinic's role addresses were told."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-severity", "created_at", "pk"]
        permissions = [
            ("acknowledge_alert", "Can acknowledge an alert"),
            ("view_duplicate_registration", "Can see possible duplicate registration alerts"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "cause_key"],
                condition=Q(acknowledged_at__isnull=True),
                name="one_open_alert_per_cause",
                violation_error_message="This alert is already open.",
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True)
                | (
                    Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False)
                    & ~Q(acknowledgement_note="")
                ),
                name="alert_acknowledged_with_who_and_note",
                violation_error_message="An acknowledgement needs who, when and a note.",
            ),
            models.CheckConstraint(condition=Q(kind__in=AlertKind.values), name="alert_kind_valid"),
        ]
        indexes = [
            # Serves the inbox and the navigation count: a clinic's open alerts.
            models.Index(
                fields=["clinic", "-severity", "created_at"],
                condition=Q(acknowledged_at__isnull=True),
                name="alert_open_by_clinic_idx",
            ),
            # Serves the e-mail sweep: alerts not yet sent.
            models.Index(
                fields=["created_at"],
                condition=Q(emailed_at__isnull=True),
                name="alert_unsent_idx",
            ),
            # Serves the service user's page: their open alerts.
            models.Index(
                fields=["service_user", "created_at"],
                condition=Q(acknowledged_at__isnull=True),
                name="alert_open_by_person_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.detail}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class AlertAddress(models.Model):
    """Where a clinic's alerts for one role are e-mailed (a team inbox, not a person)."""

    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.CASCADE, related_name="alert_addresses"
    )
    role = models.CharField(max_length=40, choices=Role.choices)
    email = models.EmailField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["clinic", "role"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "role"], name="one_alert_address_per_role")
        ]

    def __str__(self):
        return f"{self.clinic}: {self.role} → {self.email}"


class Substance(models.TextChoices):
    """DOMAIN.md's urine panel. The first three tell street heroin from prescribed
    diamorphine: they come from the street drug's impurities."""

    ACETYLCODEINE = "acetylcodeine", "Acetylcodeine (street heroin marker)"
    PAPAVERINE = "papaverine", "Papaverine (street heroin marker)"
    NOSCAPINE = "noscapine", "Noscapine (street heroin marker)"
    MORPHINE = "morphine_6mam", "Morphine or 6-MAM"
    METHADONE = "methadone_eddp", "Methadone or EDDP"
    COCAINE = "cocaine", "Cocaine (benzoylecgonine)"
    BENZODIAZEPINES = "benzodiazepines", "Benzodiazepines"
    GABAPENTINOIDS = "gabapentinoids", "Gabapentinoids"
    AMPHETAMINES = "amphetamines", "Amphetamines"
    CANNABIS = "cannabis", "Cannabis"
    FENTANYL = "fentanyl", "Fentanyl"
    BUPRENORPHINE = "buprenorphine", "Buprenorphine"
    ALCOHOL = "alcohol_etg", "Alcohol (EtG)"


STREET_HEROIN_MARKERS = (Substance.ACETYLCODEINE, Substance.PAPAVERINE, Substance.NOSCAPINE)


class ToxResult(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NOT_TESTED = "not_tested", "Not tested"


class ToxScreen(models.Model):
    """A urine toxicology screen: one sample, a result for every substance on the panel."""

    service_user = models.ForeignKey(
        "eligibility.ServiceUser", on_delete=models.PROTECT, related_name="tox_screens"
    )
    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="tox_screens"
    )
    sample_date = models.DateField()
    street_heroin = models.BooleanField(
        help_text="Any street heroin marker positive: kept with the screen for the dashboards."
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-sample_date", "-pk"]
        indexes = [
            # Serves the tox-overdue scan and the service user's page: a person's
            # latest sample.
            models.Index(fields=["service_user", "-sample_date"], name="tox_by_person_idx"),
            # Serves the outcome dashboards: a clinic's screens by month.
            models.Index(fields=["clinic", "sample_date"], name="tox_by_clinic_idx"),
            # Serves the outcomes roll-up and dashboard: screens recorded after the
            # roll-up's cut-off.
            models.Index(fields=["recorded_at"], name="tox_by_recorded_idx"),
        ]

    def __str__(self):
        return f"Tox screen of {self.service_user} on {self.sample_date}"


class ToxScreenResult(models.Model):
    screen = models.ForeignKey(ToxScreen, on_delete=models.PROTECT, related_name="results")
    substance = models.CharField(max_length=20, choices=Substance.choices)
    result = models.CharField(max_length=12, choices=ToxResult.choices)

    history = HistoricalRecords()

    class Meta:
        ordering = ["screen", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["screen", "substance"], name="one_result_per_substance"
            ),
            models.CheckConstraint(
                condition=Q(substance__in=Substance.values), name="tox_substance_valid"
            ),
            models.CheckConstraint(
                condition=Q(result__in=ToxResult.values), name="tox_result_valid"
            ),
        ]

    def __str__(self):
        return f"{self.get_substance_display()}: {self.get_result_display()}"


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

    history = HistoricalRecords()

    class Meta:
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


class MethadoneCollection(models.Model):
    """Whether the service user collected their overnight methadone on a day, from the
    pharmacy named on their methadone prescription. One record per person and day;
    a later report for the same day replaces it, and the history keeps both."""

    class Source(models.TextChoices):
        STAFF = "staff", "Clinic staff"
        PHARMACY = "pharmacy", "Pharmacy integration"

    service_user = models.ForeignKey(
        "eligibility.ServiceUser",
        on_delete=models.PROTECT,
        related_name="methadone_collections",
    )
    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="methadone_collections"
    )
    pharmacy = models.ForeignKey("dosing.Pharmacy", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    collected = models.BooleanField()
    note = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_user", "day"], name="one_methadone_record_per_day"
            ),
        ]
        indexes = [
            # Serves the uncollected scan: a person's recent days, latest first.
            models.Index(fields=["service_user", "-day"], name="methadone_by_person_idx"),
        ]

    def __str__(self):
        return (
            f"{self.service_user} {self.day}: {'collected' if self.collected else 'not collected'}"
        )


class MethadoneConflict(models.Model):
    """A pharmacy's report that disagrees with the clinic staff's record of the same
    day. The staff record stands; the pharmacy's report is kept beside it, and the
    clinic is alerted to find out which is right (issue 16.3)."""

    collection = models.ForeignKey(
        MethadoneCollection, on_delete=models.PROTECT, related_name="conflicts"
    )
    pharmacy = models.ForeignKey("dosing.Pharmacy", on_delete=models.PROTECT, related_name="+")
    collected = models.BooleanField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "pk"]

    def __str__(self):
        said = "collected" if self.collected else "not collected"
        return f"{self.pharmacy} says {said} on {self.collection.day}"


class Dashboard(models.Model):
    """No table: it carries the permission to read the managers' dashboards."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboards", "Can read the managers' dashboards")]

    def __str__(self):
        return "Dashboards"


class RollupMark(models.Model):
    """How far a dashboard roll-up has got. ``through``: the last clinic day rolled
    up (attendance); ``cutoff``: screens recorded up to this instant are in the
    roll-up (outcomes)."""

    name = models.CharField(max_length=40, unique=True)
    through = models.DateField(null=True, blank=True)
    cutoff = models.DateTimeField(null=True, blank=True)
    ran_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} roll-up through {self.through or self.cutoff}"


class OutcomeCounts(models.Model):
    """Dose sessions scheduled, and how many ended each way."""

    scheduled = models.PositiveIntegerField(default=0)
    administered = models.PositiveIntegerField(default=0)
    withheld = models.PositiveIntegerField(default=0)
    declined = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    excused = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class AttendanceDay(OutcomeCounts):
    """A settled clinic day's sessions in one slot, counted by outcome: the attendance
    dashboard reads these instead of millions of sessions (monitoring/rollups.py)."""

    clinic = models.ForeignKey("eligibility.Clinic", on_delete=models.CASCADE, related_name="+")
    clinic_day = models.DateField()
    slot_code = models.CharField(max_length=12)

    class Meta:
        constraints = [
            # Also serves the attendance dashboard: a clinic's days in a range.
            models.UniqueConstraint(
                fields=["clinic", "clinic_day", "slot_code"], name="one_attendance_day_row"
            )
        ]

    def __str__(self):
        return f"{self.clinic_id} {self.clinic_day} {self.slot_code}: {self.scheduled} sessions"


class AttendanceWeek(OutcomeCounts):
    """A service user's sessions in one settled week (Monday to Sunday), counted by
    outcome: the attendance dashboard's table by service user."""

    service_user = models.ForeignKey(
        "eligibility.ServiceUser", on_delete=models.CASCADE, related_name="+"
    )
    clinic = models.ForeignKey("eligibility.Clinic", on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service_user", "week"], name="one_attendance_week_row")
        ]
        indexes = [
            # Serves the attendance dashboard: the clinics' whole weeks in a range.
            models.Index(fields=["clinic", "week"], name="attendance_week_idx"),
        ]

    def __str__(self):
        return f"{self.service_user_id} week of {self.week}: {self.scheduled} sessions"


class ToxDay(models.Model):
    """A clinic's tox screens sampled on one day, tested for one substance (or for the
    street heroin markers together, as "street_heroin") and how many were positive:
    the outcomes dashboard reads these instead of every result."""

    clinic = models.ForeignKey("eligibility.Clinic", on_delete=models.CASCADE, related_name="+")
    sample_date = models.DateField()
    substance = models.CharField(max_length=20)
    tested = models.PositiveIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Also serves the outcomes dashboard: a clinic's days in a range.
            models.UniqueConstraint(
                fields=["clinic", "sample_date", "substance"], name="one_tox_day_row"
            )
        ]

    def __str__(self):
        return f"{self.sample_date} {self.substance}: {self.positive} of {self.tested}"
