"""Leaving treatment: suspensions and exits."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from eligibility.models import ServiceUser


class Suspension(models.Model):
    """A temporary stop (hospital, custody): not an exit. Sessions inside it are
    excused; on return the person resumes, or needs re-titration when it spanned the
    clinic's threshold of sessions without confirmed opioid cover (docs/domain.md)."""

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
    """docs/domain.md's exits, each under its kind."""

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
