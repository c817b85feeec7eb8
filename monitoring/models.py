"""Alerts, monitoring records, and the scheduler's heartbeat."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from hat_clinic.roles import Role


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
        permissions = [("acknowledge_alert", "Can acknowledge an alert")]
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
