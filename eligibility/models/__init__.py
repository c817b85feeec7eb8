from .access import AccessLog
from .clinics import (
    ABSOLUTE_MAX_DAILY_MG,
    DEFAULT_MAX_INJECTION_MG,
    Clinic,
    ClinicPolicy,
    DoseSlot,
    StaffLink,
    StaffMembership,
)
from .pathway import (
    Criterion,
    CriterionAnswer,
    EligibilityAssessment,
    Level,
    Referral,
    ReferralDecision,
    TreatmentAgreement,
    default_eligibility_levels,
)
from .second_factor import SecondFactorEvent
from .service_users import (
    ALLOWED_TRANSITIONS,
    DOSED,
    IN_TREATMENT,
    Flag,
    ServiceUser,
    Status,
    StatusChange,
    normalise_nhs_number,
    validate_nhs_number,
)
from .take_home_policy import TakeHomeCriterion, default_take_home_levels
from .tokens import IntegrationToken, TokenRefusal

__all__ = [
    "ABSOLUTE_MAX_DAILY_MG",
    "ALLOWED_TRANSITIONS",
    "DEFAULT_MAX_INJECTION_MG",
    "DOSED",
    "IN_TREATMENT",
    "AccessLog",
    "Clinic",
    "ClinicPolicy",
    "Criterion",
    "CriterionAnswer",
    "DoseSlot",
    "EligibilityAssessment",
    "Flag",
    "IntegrationToken",
    "Level",
    "Referral",
    "ReferralDecision",
    "SecondFactorEvent",
    "ServiceUser",
    "StaffLink",
    "StaffMembership",
    "Status",
    "StatusChange",
    "TakeHomeCriterion",
    "TokenRefusal",
    "TreatmentAgreement",
    "default_eligibility_levels",
    "default_take_home_levels",
    "normalise_nhs_number",
    "validate_nhs_number",
]
