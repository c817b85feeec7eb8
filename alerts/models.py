"""Alerts: what a rule raises for staff to act on, open until acknowledged with a note.

Alerts sit below dosing and above eligibility: dosing, the scans and the records raise
them (``alerts.services``); nothing here knows what raised them but the kind and cause.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.roles import Role


class AlertKind(models.TextChoices):
    """docs/domain.md's alert kinds."""

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
    TAKE_HOME_SUSPENDED = "take_home_suspended", "Take-home suspended"
    GUEST_STAY_REQUESTED = "guest_stay_requested", "Guest stay to accept or decline"


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
    AlertKind.TAKE_HOME_SUSPENDED: Severity.URGENT,
    AlertKind.GUEST_STAY_REQUESTED: Severity.WARNING,
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
    # docs/domain.md: an adverse event alerts prescribers and managers at once.
    AlertKind.ADVERSE_EVENT: (Role.PRESCRIBER, Role.MANAGER),
    AlertKind.OBSERVATION_OVERDUE: (Role.NURSE,),
    AlertKind.DUPLICATE_REGISTRATION: (Role.PRESCRIBER, Role.MANAGER),
    AlertKind.METHADONE_CONFLICT: (Role.NURSE, Role.PRESCRIBER),
    # docs/domain.md: take-home suspended alerts the prescriber; nurses supply.
    AlertKind.TAKE_HOME_SUSPENDED: (Role.PRESCRIBER, Role.NURSE),
    # The host's managers accept or decline a guest stay.
    AlertKind.GUEST_STAY_REQUESTED: (Role.MANAGER,),
}
# Kinds that only staff holding a permission see, in the inbox, the badge, a service
# user's page and timeline, and the API. A duplicate registration names another
# clinic: shown to every role, it would tell whoever recorded a referral who is in
# treatment elsewhere (issue 16.4).
RESTRICTED_KINDS = {
    AlertKind.DUPLICATE_REGISTRATION: "alerts.view_duplicate_registration",
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

    history = HistoricalRecords(table_name="monitoring_historicalalert")

    class Meta:
        # The tables kept the names they had before alerts became their own app.
        db_table = "monitoring_alert"
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

    history = HistoricalRecords(table_name="monitoring_historicalalertaddress")

    class Meta:
        db_table = "monitoring_alertaddress"
        ordering = ["clinic", "role"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "role"], name="one_alert_address_per_role")
        ]

    def __str__(self):
        return f"{self.clinic}: {self.role} → {self.email}"
