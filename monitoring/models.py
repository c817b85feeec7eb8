"""Monitoring records (tox screens, methadone collections), dashboards' roll-ups, and the
scheduler's heartbeat."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Heartbeat(models.Model):
    """When a periodic job last ran. Missed-dose detection depends on beat and a
    worker being alive; a stale heartbeat is how staff can tell they are not."""

    name = models.CharField(max_length=80, unique=True)
    last_seen_at = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} at {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class Substance(models.TextChoices):
    """docs/domain.md's urine panel. The first three tell street heroin from prescribed
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
