"""Service users: the people in treatment, and every change of their status."""

from typing import TYPE_CHECKING, Self

import nhs_number
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .clinics import Clinic, StaffMembership

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def normalise_nhs_number(value: str) -> str:
    """Digits only: '943 476 5919' and '943-476-5919' are the same number."""
    return "".join(ch for ch in str(value) if not ch.isspace() and ch != "-")


def validate_nhs_number(value: str) -> None:
    digits = normalise_nhs_number(value)
    if len(digits) != 10 or not digits.isdigit():
        raise ValidationError(
            "An NHS number has 10 digits (spaces allowed), for example 943 476 5919.",
            code="nhs_number_format",
        )
    if not nhs_number.is_valid(digits):
        raise ValidationError(
            "This NHS number fails its check digit (modulus 11). Check it for a mistyped digit.",
            code="nhs_number_checksum",
        )


class Status(models.TextChoices):
    """A service user's place on the treatment pathway (docs/api.md's fixed values)."""

    REFERRED = "referred", "Referred"
    ASSESSING = "assessing", "Eligibility assessment"
    DECLINED = "declined", "Declined"
    WAITING = "waiting", "Waiting list"
    TITRATION = "titration", "Induction and titration"
    MAINTENANCE = "maintenance", "Maintenance"
    RETITRATION_REQUIRED = "retitration_required", "Re-titration required"
    RETITRATION = "retitration", "Re-titration"
    SUSPENDED = "suspended", "Suspended"
    EXITED = "exited", "Exited"


# The statuses in which a person holds a place and has dose sessions scheduled
# (a suspended person keeps the place; their sessions are excused).
IN_TREATMENT = frozenset(
    {
        Status.TITRATION,
        Status.MAINTENANCE,
        Status.RETITRATION_REQUIRED,
        Status.RETITRATION,
        Status.SUSPENDED,
    }
)

# The statuses in which a person is being dosed: docs/domain.md's threshold and lapse move
# them to re-titration required.
DOSED = (Status.TITRATION, Status.MAINTENANCE, Status.RETITRATION)

# docs/domain.md's pathway: referral -> assessment -> accepted | declined -> waiting
# list -> admitted (titration) -> maintenance -> (re-titration required ->
# re-titration -> maintenance)* -> exit, with suspension possible in treatment.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.REFERRED: frozenset({Status.ASSESSING, Status.DECLINED, Status.EXITED}),
    Status.ASSESSING: frozenset({Status.DECLINED, Status.WAITING, Status.TITRATION}),
    Status.DECLINED: frozenset({Status.REFERRED}),
    Status.WAITING: frozenset({Status.TITRATION, Status.EXITED}),
    Status.TITRATION: frozenset(
        {Status.MAINTENANCE, Status.RETITRATION_REQUIRED, Status.SUSPENDED, Status.EXITED}
    ),
    Status.MAINTENANCE: frozenset({Status.RETITRATION_REQUIRED, Status.SUSPENDED, Status.EXITED}),
    Status.RETITRATION_REQUIRED: frozenset({Status.RETITRATION, Status.SUSPENDED, Status.EXITED}),
    Status.RETITRATION: frozenset(
        {Status.MAINTENANCE, Status.RETITRATION_REQUIRED, Status.SUSPENDED, Status.EXITED}
    ),
    # On return from suspension a person resumes where they were, or needs
    # re-titration when the suspension spanned the threshold.
    Status.SUSPENDED: frozenset(
        {
            Status.TITRATION,
            Status.MAINTENANCE,
            Status.RETITRATION_REQUIRED,
            Status.RETITRATION,
            Status.EXITED,
        }
    ),
    # A person who left may be referred again; their history stays with them.
    Status.EXITED: frozenset({Status.REFERRED}),
}


class Flag(models.TextChoices):
    """Risk flags. Other dependencies never make a person ineligible; they set flags."""

    ALCOHOL = "alcohol", "Alcohol"
    BENZODIAZEPINES = "benzodiazepines", "Benzodiazepines"
    GABAPENTINOIDS = "gabapentinoids", "Gabapentinoids"
    STIMULANTS = "stimulants", "Stimulants (crack cocaine, amphetamines)"


class ServiceUserQuerySet(models.QuerySet["ServiceUser"]):
    def for_staff(self, user: "User | AnonymousUser") -> Self:
        """Only the service users of the clinics this member of staff works in."""
        return self.filter(clinic__in=StaffMembership.objects.clinic_ids_in_scope(user))

    def in_treatment(self) -> Self:
        return self.filter(status__in=IN_TREATMENT)


class ServiceUser(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="service_users")
    # Unique within a clinic (the constraint below), not across the installation: a
    # referral at another clinic is recorded and raises a "possible duplicate
    # registration" alert to both clinics, so that asking is no way to find out who is
    # in treatment where (issue 16.4).
    nhs_number = models.CharField("NHS number", max_length=10, validators=[validate_nhs_number])
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(
        max_length=100, blank=True, help_text="The name or pseudonym staff call the person by."
    )
    date_of_birth = models.DateField()
    photo = models.ImageField(upload_to="service_users/", blank=True)
    flag_alcohol = models.BooleanField("alcohol", default=False)
    flag_benzodiazepines = models.BooleanField("benzodiazepines", default=False)
    flag_gabapentinoids = models.BooleanField("gabapentinoids", default=False)
    flag_stimulants = models.BooleanField("stimulants", default=False)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.REFERRED)
    status_changed_at = models.DateTimeField()
    consecutive_not_taken = models.PositiveSmallIntegerField(
        default=0,
        help_text="Consecutive scheduled sessions not taken (missed, withheld, declined).",
    )
    count_restarted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a re-titration prescription last restarted the consecutive count: "
        "only sessions whose window closes after it count.",
    )
    tolerance_lapses_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The last dose (or re-titration, or return with opioid cover) plus the "
        "clinic's re-titration days: from then, re-titration is required.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = ServiceUserQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        permissions = [
            ("change_status", "Can move a service user along the treatment pathway"),
            ("flag_serviceuser", "Can add and remove a service user's risk flags"),
            ("view_audit", "Can read the audit history of records"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="service_user_status_valid"
            ),
            models.UniqueConstraint(
                fields=["clinic", "nhs_number"], name="service_user_nhs_number_per_clinic"
            ),
        ]
        indexes = [
            # Serves the duplicate check at registration: the NHS number at other clinics.
            models.Index(fields=["nhs_number"], name="service_user_nhs_number_idx"),
            # Serves every clinic list and board: a clinic's service users by status.
            models.Index(fields=["clinic", "status"], name="service_user_clinic_status_idx"),
            # Serves the lapse check of every scan and settle: people being dosed whose
            # tolerance has lapsed by now (dosing.missed._lapses_apply).
            models.Index(
                fields=["tolerance_lapses_at"],
                condition=Q(status__in=DOSED),
                name="service_user_lapse_idx",
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.preferred_name or f"{self.given_name} {self.family_name}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def initials(self) -> str:
        return f"{self.given_name[:1]}{self.family_name[:1]}".upper()

    @property
    def nhs_number_display(self) -> str:
        n = self.nhs_number
        return f"{n[:3]} {n[3:6]} {n[6:]}"

    @property
    def flags(self) -> list[str]:
        return [flag.value for flag in Flag if getattr(self, f"flag_{flag.value}")]

    @property
    def in_treatment(self) -> bool:
        return self.status in IN_TREATMENT

    def clean(self):
        super().clean()
        if self.nhs_number:
            self.nhs_number = normalise_nhs_number(self.nhs_number)


class StatusChange(models.Model):
    """An append-only log of every status change: who, when, from what, to what and why.

    It feeds the timeline, retention and the return-from-suspension rule.
    """

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="status_changes"
    )
    from_status = models.CharField(max_length=24, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=24, choices=Status.choices)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()

    class Meta:
        ordering = ["service_user", "changed_at", "id"]
        indexes = [
            # Serves a service user's timeline and "status before suspension".
            models.Index(fields=["service_user", "changed_at"], name="status_change_timeline_idx"),
        ]

    def __str__(self):
        return f"{self.service_user}: {self.from_status or '-'} -> {self.to_status}"
