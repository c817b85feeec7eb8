"""Register entries in the admin are for reading only: the register is append-only
(regs 19 and 20), changed by no one, corrected only by a dated correction entry."""

from django.contrib import admin

from core.read_only_admin import ReadOnlyAdminMixin

from .models import RegisterEntry, RegisterSection


class ReadOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(RegisterSection)
class RegisterSectionAdmin(ReadOnly):
    list_display = ["__str__", "clinic", "balance_ampoules", "balance_mg", "supplies_doses"]
    list_filter = ["clinic"]


@admin.register(RegisterEntry)
class RegisterEntryAdmin(ReadOnly):
    list_display = [
        "section",
        "sequence",
        "kind",
        "occurred_at",
        "ampoules_in",
        "ampoules_out",
        "balance_ampoules",
        "balance_mg",
        "recorded_by",
        "witness",
    ]
    list_filter = ["section__clinic", "kind"]
