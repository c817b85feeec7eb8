"""The admin is for looking, not for changing clinical records: those change only
through the services, which check the rules and write the audit trail."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.read_only_admin import ReadOnlyAdminMixin

from .models import Clinic, ClinicPolicy, ServiceUser, StatusChange


class ReadOnlyAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    pass


@admin.register(ServiceUser)
class ServiceUserAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "clinic", "status", "status_changed_at"]
    list_filter = ["clinic", "status"]
    search_fields = ["nhs_number", "family_name", "preferred_name"]


@admin.register(Clinic)
class ClinicAdmin(ReadOnlyAdmin):
    list_display = ["name", "time_zone"]


@admin.register(ClinicPolicy)
class ClinicPolicyAdmin(ReadOnlyAdmin):
    list_display = ["clinic", "effective_from", "capacity", "reason"]


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["service_user", "from_status", "to_status", "changed_at", "changed_by"]
