"""Integration tokens: API access for a system, not a person (a pharmacy reporting
methadone collections). Each token acts as its own account, a member of one clinic
holding one role, so the clinic scoping and the role permissions apply unchanged; a
pharmacy's token is narrowed further, to the people that pharmacy dispenses to."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.roles import Role


class IntegrationToken(models.Model):
    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="integration_tokens"
    )
    name = models.CharField(max_length=120, help_text="Who uses it, e.g. the pharmacy's name.")
    role = models.CharField(max_length=40, choices=Role.choices)
    # A pharmacy's token reports only for the people whose methadone that pharmacy
    # dispenses (issue 16.3). A token issued before tokens had a pharmacy has none, and
    # reaches nobody: issue a new one.
    pharmacy = models.ForeignKey(
        "dosing.Pharmacy",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="integration_tokens",
        help_text="The pharmacy whose system uses the token.",
    )
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="integration_token"
    )
    # Only a hash is kept: the key is shown once, when the token is made.
    key_hash = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(
        max_length=8, help_text="The key's first characters, to tell tokens apart."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["clinic", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_by__isnull=False),
                name="token_revoked_by_someone",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…) at {self.clinic}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class TokenRefusal(models.Model):
    """A request that sent an unknown or revoked token key. Too many from one address,
    or with one key prefix, in a while, and further unknown keys from there are refused
    outright (429) for a while. A valid key is never refused for them."""

    ip_address = models.GenericIPAddressField(null=True, blank=True)
    key_prefix = models.CharField(max_length=8, blank=True)
    refused_at = models.DateTimeField()

    class Meta:
        indexes = [
            # Serve the limits: an address's, and a key prefix's, refusals in the window.
            models.Index(fields=["ip_address", "refused_at"], name="token_refusal_idx"),
            models.Index(fields=["key_prefix", "refused_at"], name="token_refusal_prefix_idx"),
        ]

    def __str__(self):
        return f"Token refused from {self.ip_address} at {self.refused_at:%Y-%m-%d %H:%M}"
