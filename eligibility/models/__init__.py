from .clinics import ABSOLUTE_MAX_DAILY_MG, Clinic, ClinicPolicy, DoseSlot, StaffMembership
from .service_users import (
    ALLOWED_TRANSITIONS,
    IN_TREATMENT,
    Flag,
    ServiceUser,
    Status,
    StatusChange,
    normalise_nhs_number,
    validate_nhs_number,
)
from .tokens import IntegrationToken

__all__ = [
    "ABSOLUTE_MAX_DAILY_MG",
    "ALLOWED_TRANSITIONS",
    "IN_TREATMENT",
    "Clinic",
    "ClinicPolicy",
    "DoseSlot",
    "Flag",
    "IntegrationToken",
    "ServiceUser",
    "StaffMembership",
    "Status",
    "StatusChange",
    "normalise_nhs_number",
    "validate_nhs_number",
]
