"""Guest dosing: a service user dosed at another clinic of the installation for a few
days (docs/domain.md, "Guest dosing"). The home prescriber authorises the stay, the
host's manager accepts it, and either may end it. None of the three is edited."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from eligibility.models import Clinic, ServiceUser

# The longest stay, in days: a stay is a trip away, not a transfer.
MAX_STAY_DAYS = 28


class GuestStay(models.Model):
    """The home prescriber's authority for the person to be dosed at the host clinic
    from the first day to the last, with the home prescription. In effect once the
    host accepts it, until it ends."""

    service_user = models.ForeignKey(
        ServiceUser, on_delete=models.PROTECT, related_name="guest_stays"
    )
    home_clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    host_clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="guest_stays_hosted"
    )
    first_day = models.DateField()
    last_day = models.DateField()
    reason = models.TextField(help_text="Why the person is away: the host reads it.")
    authorised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    authorised_at = models.DateTimeField()

    class Meta:
        ordering = ["-first_day", "-pk"]
        permissions = [("accept_guest_stay", "Can accept, decline or end a guest stay here")]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=F("first_day")), name="guest_stay_ends_after_it_starts"
            ),
            models.CheckConstraint(
                condition=~Q(host_clinic=F("home_clinic")), name="guest_stay_at_another_clinic"
            ),
        ]
        indexes = [
            # Serves session generation at the host: the stays it hosts on a day.
            models.Index(
                fields=["host_clinic", "first_day", "last_day"], name="guest_host_day_idx"
            ),
            # Serves a person's stays on a day (generation at home, the supply's days).
            models.Index(fields=["service_user", "first_day"], name="guest_person_idx"),
        ]

    def __str__(self):
        return f"{self.service_user} at {self.host_clinic} {self.first_day} to {self.last_day}"

    @property
    def state(self) -> str:
        """awaiting (the host has not accepted), accepted, or ended."""
        if hasattr(self, "end"):
            return "ended"
        return "accepted" if hasattr(self, "acceptance") else "awaiting"


class GuestStayAcceptance(models.Model):
    """The host's manager accepts the stay: from then the host doses the person."""

    stay = models.OneToOneField(GuestStay, on_delete=models.PROTECT, related_name="acceptance")
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField()
    note = models.TextField(blank=True)

    def __str__(self):
        return f"Acceptance of {self.stay}"


class GuestStayEnd(models.Model):
    """The stay cancelled by the home prescriber, or declined or ended by the host's
    manager. Sessions not yet open go back to the home clinic from then."""

    stay = models.OneToOneField(GuestStay, on_delete=models.PROTECT, related_name="end")
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField()
    # The first day the stay no longer covers: the home clinic's day it ended.
    home_from = models.DateField()
    reason = models.TextField()

    def __str__(self):
        return f"End of {self.stay}"
