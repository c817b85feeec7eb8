"""The audit of staff members' second factors (issue 16.2).

The devices themselves are django-otp's (a TOTP authenticator, and a set of one-time
recovery codes); this log says who set one up, used a recovery code, made new codes
or reset someone's, and when. It is append-only, like every record of the service.
"""

from django.conf import settings
from django.db import models


class SecondFactorEvent(models.Model):
    class Kind(models.TextChoices):
        ENROLLED = "enrolled", "Set up an authenticator app"
        RECOVERY_USED = "recovery_used", "Logged in with a recovery code"
        RECOVERY_RENEWED = "recovery_renewed", "Made new recovery codes"
        RESET = "reset", "Second factor reset"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="second_factor_events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Who reset it (a manager, or None from the command line); for other kinds, nobody.
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The clinic the manager was working in when they reset it.
    clinic = models.ForeignKey(
        "eligibility.Clinic", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        permissions = [("reset_second_factor", "Can reset a staff member's second factor")]
        indexes = [
            # Serves the staff page's "set up on" and a person's own history, newest first.
            models.Index(fields=["user", "-at"], name="second_factor_user_idx"),
        ]

    def __str__(self):
        return f"{self.user} {self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
