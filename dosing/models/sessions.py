"""Dose sessions: one per service user, slot and clinic day, and the statuses a
session passes through; the missed-dose scan's mark."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from eligibility.models import ServiceUser


class SessionStatus(models.TextChoices):
    """docs/api.md's fixed session status values."""

    SCHEDULED = "scheduled", "Scheduled"
    ASSESSED = "assessed", "Assessed"
    DEFERRED = "deferred", "Deferred"
    ADMINISTERED = "administered", "Administered"
    OBSERVED = "observed", "Complete"
    WITHHELD = "withheld", "Withheld"
    DECLINED = "declined", "Declined"
    MISSED = "missed", "Missed"
    EXCUSED = "excused", "Excused"
    TAKE_HOME = "take_home", "Take-home"
    GUEST = "guest", "Dosed at another clinic"


# A session with one of these has no outcome yet. When its window closes it is missed,
# or, if it was deferred for a reassessment that never came, withheld.
OPEN_SESSION_STATUSES = (SessionStatus.SCHEDULED, SessionStatus.ASSESSED, SessionStatus.DEFERRED)
# docs/domain.md: a dose "taken" resets the consecutive count; these are "not taken".
TAKEN_STATUSES = (SessionStatus.ADMINISTERED, SessionStatus.OBSERVED)
NOT_TAKEN_STATUSES = (SessionStatus.WITHHELD, SessionStatus.DECLINED, SessionStatus.MISSED)
# Not the dosing room's: supplied to take home, or dosed at another clinic. Never
# missed, not on the room's board nor among the sessions it schedules.
AWAY_STATUSES = (SessionStatus.TAKE_HOME, SessionStatus.GUEST)
# The consecutive rule and take-home attendance count a take-home dose as taken.
COUNTS_AS_TAKEN = (*TAKEN_STATUSES, SessionStatus.TAKE_HOME)


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
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="An unscheduled session's prescriber: added for today, outside the "
        "generated schedule (an admission day, a first dose outside the slots).",
    )
    guest_stay = models.ForeignKey(
        "dosing.GuestStay",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sessions",
        help_text="A guest stay's session: the host's, where the person is dosed, or the "
        "home clinic's, marked guest.",
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
            # keeps exactly one session per person, day and slot that can be dosed.
            # A guest stay leaves the home clinic's session beside the host's, marked
            # guest: never dosed, it is only the home board's "guest at ...".
            models.UniqueConstraint(
                fields=["service_user", "clinic_day", "slot_code"],
                condition=~Q(status="guest"),
                name="one_session_per_slot_per_day",
            ),
            models.UniqueConstraint(
                fields=["service_user", "clinic_day", "slot_code", "clinic"],
                name="one_session_per_slot_per_clinic_day",
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
