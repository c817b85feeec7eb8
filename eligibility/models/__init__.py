from .clinics import ABSOLUTE_MAX_DAILY_MG, Clinic, ClinicPolicy, DoseSlot, StaffMembership
from .pathway import (
    Criterion,
    CriterionAnswer,
    Decision,
    EligibilityAssessment,
    Level,
    Referral,
    TreatmentAgreement,
    default_eligibility_levels,
)
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
from .tokens import IntegrationToken, TokenRefusal

__all__ = [
    "ABSOLUTE_MAX_DAILY_MG",
    "ALLOWED_TRANSITIONS",
    "IN_TREATMENT",
    "Clinic",
    "ClinicPolicy",
    "Criterion",
    "CriterionAnswer",
    "Decision",
    "DoseSlot",
    "EligibilityAssessment",
    "Flag",
    "IntegrationToken",
    "Level",
    "Referral",
    "ServiceUser",
    "StaffMembership",
    "Status",
    "StatusChange",
    "TokenRefusal",
    "TreatmentAgreement",
    "default_eligibility_levels",
    "normalise_nhs_number",
    "validate_nhs_number",
]
