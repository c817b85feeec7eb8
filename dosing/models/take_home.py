"""Take-home doses: a service user's take-home prescription, versioned like the clinic
prescription and never edited (docs/domain.md, "Take-home doses")."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from eligibility.models import ClinicPolicy, ServiceUser

from .prescribing import DIAMORPHINE

# The days of the week as the prescription and the API name them, Monday first (the
# index is Python's date.weekday()).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


class TakeHomeRoute(models.TextChoices):
    """How the service user takes the dose, which decides what is supplied: tablets
    by mouth, or ampoules to inject."""

    ORAL = "oral", "By mouth (tablets)"
    IV = "iv", "Intravenous injection (ampoules)"
    IM = "im", "Intramuscular injection (ampoules)"


class TakeHomePrescription(models.Model):
    """One version of a service user's take-home prescription: the dose to take away
    for each of its slots on each of its days, from its first day to its last. A new
    version supersedes the one before from its first day."""

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="take_home_prescriptions"
    )
    version = models.PositiveIntegerField()
    drug = models.CharField(max_length=60, default=DIAMORPHINE, editable=False)
    route = models.CharField(max_length=4, choices=TakeHomeRoute.choices)
    dose_mg = models.DecimalField("dose (mg)", max_digits=7, decimal_places=2)
    slot_codes = models.JSONField(help_text='The clinic\'s slots taken at home, e.g. ["PM"].')
    weekdays = models.JSONField(help_text="The days, as mon, tue ... sun.")
    valid_from = models.DateField("first day")
    valid_to = models.DateField("last day")
    prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    # The criteria as they were answered when it was written, and the written reason
    # for any advisory one not met.
    policy = models.ForeignKey(ClinicPolicy, on_delete=models.PROTECT, related_name="+")
    criteria = models.JSONField()
    criteria_reason = models.TextField(blank=True)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["service_user", "-valid_from", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["service_user", "version"], name="one_take_home_version_number"
            ),
            models.CheckConstraint(condition=Q(dose_mg__gt=0), name="take_home_dose_positive"),
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")), name="take_home_ends_after_it_starts"
            ),
        ]
        indexes = [
            # Serves take_home_in_force(): a person's latest version started by a day.
            models.Index(
                fields=["service_user", "valid_from", "version"], name="take_home_in_force_idx"
            ),
        ]

    def __str__(self):
        return f"Take-home v{self.version} for {self.service_user}"

    @property
    def doses_per_week(self) -> int:
        return len(self.slot_codes) * len(self.weekdays)

    @property
    def days_label(self) -> str:
        return (
            "every day"
            if len(self.weekdays) == 7
            else ", ".join(WEEKDAY_NAMES[day] for day in self.weekdays)
        )

    def applies_on(self, day) -> bool:
        return self.valid_from <= day <= self.valid_to and WEEKDAYS[day.weekday()] in self.weekdays


class TakeHomeSupply(models.Model):
    """Take-home doses handed over at a clinic visit, witnessed: one dose for each
    take-home slot from the visit to the next, each with its session marked take-home,
    and the register's line for what left the clinic."""

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="take_home_supplies"
    )
    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="take_home_supplies"
    )
    prescription = models.ForeignKey(
        TakeHomePrescription, on_delete=models.PROTECT, related_name="supplies"
    )
    section = models.ForeignKey(
        "RegisterSection", on_delete=models.PROTECT, related_name="take_home_supplies"
    )
    units = models.PositiveIntegerField(help_text="Ampoules or tablets supplied in all.")
    supplied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    supplied_at = models.DateTimeField()
    next_visit = models.DateField(
        help_text="The clinic day the service user is due back to collect the next supply."
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-supplied_at"]
        permissions = [("supply_take_home", "Can supply take-home doses")]
        constraints = [
            models.CheckConstraint(condition=Q(units__gt=0), name="take_home_supply_units"),
        ]
        indexes = [
            # Serves the missed-collection scan: supplies whose next visit has come.
            models.Index(fields=["next_visit"], name="take_home_next_visit_idx"),
            # Serves the workload dashboard's supplies by month.
            models.Index(fields=["supplied_at"], name="take_home_supply_month_idx"),
        ]

    def __str__(self):
        return f"Take-home supply to {self.service_user} on {self.supplied_at:%Y-%m-%d}"


class TakeHomeDose(models.Model):
    """One dose of a supply: its clinic day and slot, the dose, and the session it
    stands for, marked take-home: never two sessions for a slot."""

    supply = models.ForeignKey(TakeHomeSupply, on_delete=models.PROTECT, related_name="doses")
    # A session's dose is supplied once while it stands: only a scheduled session is
    # supplied. Brought back before its time, the session is the room's again, and a
    # later supply may give it anew.
    session = models.ForeignKey(
        "DoseSession", on_delete=models.PROTECT, related_name="take_home_doses"
    )
    clinic_day = models.DateField()
    slot_code = models.CharField(max_length=12)
    dose_mg = models.DecimalField(max_digits=7, decimal_places=2)
    route = models.CharField(max_length=4, choices=TakeHomeRoute.choices)
    units = models.PositiveIntegerField(help_text="Ampoules or tablets for this dose.")

    class Meta:
        ordering = ["clinic_day", "slot_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(units__gt=0) & Q(dose_mg__gt=0), name="take_home_dose_amounts"
            ),
        ]

    def __str__(self):
        return f"{self.slot_code} {self.clinic_day}: {self.dose_mg} mg to take home"


class LapseCause(models.TextChoices):
    """docs/domain.md: what suspends take-home by itself."""

    STREET_HEROIN = "street_heroin", "Street-heroin marker on a tox screen"
    MISSED_COLLECTION = "missed_collection", "Missed the collection visit"
    RETITRATION = "retitration", "Re-titration"
    LOST_OR_STOLEN = "lost_or_stolen", "Supply reported lost or stolen"


class TakeHomeLapse(models.Model):
    """Take-home suspended for a prescription version: its cause, when the cause
    happened, and when it was recorded. Only a new version, written after the cause
    and under the criteria, lets take-home start again."""

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="take_home_lapses"
    )
    prescription = models.ForeignKey(
        TakeHomePrescription, on_delete=models.PROTECT, related_name="lapses"
    )
    cause = models.CharField(max_length=20, choices=LapseCause.choices)
    occurred_at = models.DateTimeField()
    detail = models.TextField()
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            # A scan that runs twice, or late, records each lapse once.
            models.UniqueConstraint(
                fields=["prescription", "cause"], name="one_lapse_per_version_and_cause"
            ),
        ]
        indexes = [
            # Serves the dashboards' lapses by month.
            models.Index(fields=["occurred_at"], name="take_home_lapse_month_idx"),
        ]

    def __str__(self):
        return f"Take-home lapse of {self.service_user}: {self.get_cause_display()}"


class TakeHomeLoss(models.Model):
    """A take-home supply reported lost or stolen: the incident as the nurse records
    it. It suspends take-home (a lapse)."""

    class Kind(models.TextChoices):
        LOST = "lost", "Lost"
        STOLEN = "stolen", "Stolen"

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="take_home_losses"
    )
    supply = models.ForeignKey(TakeHomeSupply, on_delete=models.PROTECT, related_name="losses")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    doses = models.PositiveIntegerField(help_text="How many of the supply's doses.")
    happened_on = models.DateField()
    description = models.TextField(help_text="What happened, and whether the police were told.")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField()

    class Meta:
        ordering = ["-reported_at"]
        constraints = [
            models.CheckConstraint(condition=Q(doses__gt=0), name="take_home_loss_doses"),
        ]

    def __str__(self):
        return f"Take-home supply {self.get_kind_display().lower()}: {self.service_user}"


class TakeHomeReturn(models.Model):
    """Unused take-home doses brought back, and destroyed at once in front of an
    authorised witness. Their sessions are not taken (or the room's again, when their
    window is still to come)."""

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="take_home_returns"
    )
    supply = models.ForeignKey(TakeHomeSupply, on_delete=models.PROTECT, related_name="returns")
    units = models.PositiveIntegerField(help_text="Ampoules or tablets brought back.")
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField()
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(condition=Q(units__gt=0), name="take_home_return_units"),
        ]
        indexes = [
            # Serves the dashboards' returns by month.
            models.Index(fields=["received_at"], name="take_home_return_month_idx"),
        ]

    def __str__(self):
        return f"Take-home return from {self.service_user} on {self.received_at:%Y-%m-%d}"


class TakeHomeReturnedDose(models.Model):
    """A dose of a supply brought back: each dose is returned once at most."""

    returned = models.ForeignKey(TakeHomeReturn, on_delete=models.PROTECT, related_name="doses")
    dose = models.OneToOneField(TakeHomeDose, on_delete=models.PROTECT, related_name="returned")

    def __str__(self):
        return f"{self.dose} returned"
