"""Read access, audited (issue 16.8): who opened a service user's record or exported
data, when, and from which clinic. It holds no clinical content: what was opened is
named, not copied. Append-only (core.append_only)."""

from django.conf import settings
from django.db import models


class AccessLog(models.Model):
    class What(models.TextChoices):
        RECORD = "record", "Service user's page"
        TIMELINE = "timeline", "Timeline"
        PRESCRIPTIONS = "prescriptions", "Prescriptions"
        TAKE_HOME = "take_home", "Take-home"
        HISTORY = "history", "Audit history"
        FHIR_EXPORT = "fhir_export", "FHIR export"
        CSV_EXPORT = "csv_export", "CSV export"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The clinic the member of staff was working in.
    clinic = models.ForeignKey("eligibility.Clinic", on_delete=models.PROTECT, related_name="+")
    service_user = models.ForeignKey(
        "eligibility.ServiceUser",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accesses",
    )
    what = models.CharField(max_length=20, choices=What.choices)
    export = models.CharField(max_length=120, blank=True, help_text="Which export, by name.")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # Serves "who looked at this record": a person's accesses, newest first.
            models.Index(fields=["service_user", "-at"], name="access_log_person_idx"),
            # Serves the API's list for a manager's clinics, newest first.
            models.Index(fields=["clinic", "-at"], name="access_log_clinic_idx"),
        ]

    def __str__(self):
        return f"{self.user} {self.get_what_display()} at {self.at:%Y-%m-%d %H:%M}"
