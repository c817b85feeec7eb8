"""The controlled drugs register: a section per drug, form and strength, and its
append-only entries with running balances."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from .prescribing import DIAMORPHINE
from .sessions import DoseSession


class RegisterSection(models.Model):
    """One drug and strength in a clinic's controlled drugs register (Misuse of Drugs
    Regulations 2001, reg. 19): its own page of entries in time order. The section
    holds whole ampoules (or units) of its strength, which is what nurses count; each
    entry also carries its mg. The balance is the sum of the entries, kept here too
    (in ampoules, and in mg) so that an entry is checked against it under this row's
    lock."""

    clinic = models.ForeignKey(
        "eligibility.Clinic", on_delete=models.PROTECT, related_name="register_sections"
    )
    drug = models.CharField(max_length=60, default=DIAMORPHINE)
    strength_mg = models.DecimalField(max_digits=7, decimal_places=2)
    form = models.CharField(max_length=30, default="ampoule")
    supplies_doses = models.BooleanField(
        default=False,
        help_text="The section that each administration's drawn dose is supplied from.",
    )
    balance_ampoules = models.PositiveIntegerField(default=0)
    balance_mg = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic", "drug", "strength_mg"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "drug", "strength_mg", "form"], name="one_section_per_product"
            ),
            models.UniqueConstraint(
                fields=["clinic"],
                condition=Q(supplies_doses=True),
                name="one_dose_supply_section_per_clinic",
            ),
            models.CheckConstraint(
                condition=Q(balance_mg__gte=0),
                name="register_balance_never_negative",
                violation_error_message="The register balance can never be negative.",
            ),
            models.CheckConstraint(condition=Q(strength_mg__gt=0), name="strength_positive"),
        ]

    def __str__(self):
        return (
            f"{self.drug.capitalize()} {format(self.strength_mg.normalize(), 'f')} mg {self.form}"
        )

    def count(self, ampoules: int) -> str:
        """ "3 ampoules (300 mg)": a number of this section's units, with their mg."""
        unit = self.form if ampoules == 1 else f"{self.form}s"
        mg = format((self.strength_mg * ampoules).normalize(), "f")
        return f"{ampoules} {unit} ({mg} mg)"

    @property
    def balance_label(self) -> str:
        return self.count(self.balance_ampoules)


class EntryKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SUPPLY = "supply", "Supply"
    TAKE_HOME = "take_home", "Supplied to take home"
    RETURNED = "returned", "Returned unused and destroyed"
    WASTE = "waste", "Waste"
    DESTRUCTION = "destruction", "Destruction of stock"
    STOCK_CHECK = "stock_check", "Stock check"
    CORRECTION = "correction", "Correction"
    # Written once, by the migration that moved the register to whole ampoules, where
    # the mg balance held parts of opened ampoules (dosing migration 0005).
    CONVERSION = "conversion", "Counted in ampoules from here"


class RegisterEntry(models.Model):
    """One line of a register section. Never updated or deleted (a database trigger
    refuses it): a mistake is answered by a correction, a dated note pointing here.

    The ledger counts whole ampoules: ``ampoules_in`` and ``ampoules_out`` move the
    balance, and the mg columns are the same quantities in mg (the ampoules times the strength).
    A dose opens as many ampoules as its drawn amount needs; what it leaves in them,
    and what was drawn but not injected, is its waste line."""

    section = models.ForeignKey(RegisterSection, on_delete=models.PROTECT, related_name="entries")
    sequence = models.PositiveIntegerField(help_text="The entry's place in the section, from 1.")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    occurred_at = models.DateTimeField()
    quantity_in_mg = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    quantity_out_mg = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    balance_mg = models.DecimalField(
        max_digits=10, decimal_places=2, help_text="The balance after this entry."
    )
    ampoules = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The ampoules the entry names: received, opened for a dose or waste, or "
        "destroyed.",
    )
    ampoules_in = models.PositiveIntegerField(default=0)
    ampoules_out = models.PositiveIntegerField(default=0)
    balance_ampoules = models.PositiveIntegerField(
        default=0, help_text="The balance in ampoules after this entry."
    )
    counted_ampoules = models.PositiveIntegerField(null=True, blank=True)
    supplier_name = models.CharField(max_length=200, blank=True)
    supplier_address = models.TextField(blank=True)
    batch = models.CharField(max_length=60, blank=True)
    expiry = models.DateField(null=True, blank=True)
    session = models.ForeignKey(
        DoseSession,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    administration = models.ForeignKey(
        "Administration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    take_home_supply = models.ForeignKey(
        "TakeHomeSupply",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    take_home_return = models.ForeignKey(
        "TakeHomeReturn",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="register_entries",
    )
    counted_mg = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    waste_mg = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="For waste: the amount destroyed. A dose's waste was already counted out "
        "in its supply, so it does not move the balance again.",
    )
    corrected_mg = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="For a correction of an amount: what the corrected entry's amount now "
        "reads (a supply's drawn amount, or a waste's amount).",
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    note = models.TextField(blank=True)
    # Empty only on the migration's conversion line, which nobody recorded.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["section", "sequence"]
        verbose_name_plural = "register entries"
        permissions = [
            ("receive_stock", "Can receive controlled drug stock"),
            ("witness_cd_destruction", "Can witness the destruction of controlled drugs"),
        ]
        constraints = [
            # Time order, one line after another, even when two entries race.
            models.UniqueConstraint(fields=["section", "sequence"], name="register_sequence"),
            models.CheckConstraint(
                condition=Q(balance_mg__gte=0), name="register_entry_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(quantity_in_mg__gte=0, quantity_out_mg__gte=0),
                name="register_quantities_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.RECEIPT)
                | (~Q(supplier_name="") & ~Q(batch="") & Q(expiry__isnull=False)),
                name="receipt_has_supplier_batch_expiry",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.SUPPLY) | Q(session__isnull=False),
                name="supply_linked_to_session",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[EntryKind.WASTE, EntryKind.DESTRUCTION])
                | Q(witness__isnull=False),
                name="waste_and_destruction_witnessed",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.TAKE_HOME)
                | (Q(take_home_supply__isnull=False) & Q(witness__isnull=False)),
                name="take_home_supply_linked_and_witnessed",
            ),
            # A return never goes back into stock: it is recorded, and destroyed.
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.RETURNED)
                | (
                    Q(take_home_return__isnull=False)
                    & Q(witness__isnull=False)
                    & Q(ampoules_in=0)
                    & Q(ampoules_out=0)
                ),
                name="take_home_return_witnessed_outside_stock",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.CORRECTION) | (Q(corrects__isnull=False) & ~Q(note="")),
                name="correction_refers_and_explains",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.WASTE) | Q(waste_mg__gt=0),
                name="waste_has_an_amount",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=EntryKind.values), name="register_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(recorded_by__isnull=False) | Q(kind=EntryKind.CONVERSION),
                name="register_entry_recorded_by_someone",
            ),
        ]

    def __str__(self):
        return f"{self.section} #{self.sequence}: {self.get_kind_display()}"
