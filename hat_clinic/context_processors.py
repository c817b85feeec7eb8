from django.conf import settings

from alerts.selectors import open_alert_count
from eligibility.roles import roles_held

from .navigation import navigation_for


def clinic_navigation(request):
    """The clinic's name, the staff member's clinics and roles, for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # An integration token's account has no second step (no is_verified): it is no session.
    verified = getattr(user, "is_verified", None)
    if settings.TWO_FACTOR_REQUIRED and verified is not None and not verified():
        # Between the password and the second factor: nothing to go to but logging out.
        return {"second_step": True}
    clinic = getattr(request, "clinic", None)
    roles = roles_held(user, clinic)
    return {
        "open_alert_count": (
            open_alert_count(clinic=clinic, user=user)
            if clinic is not None and user.has_perm("alerts.view_alert")
            else 0
        ),
        "current_clinic": clinic,
        "staff_clinics": getattr(request, "staff_clinics", []),
        "staff_roles": roles,
        "can_view_audit": user.has_perm("eligibility.view_audit"),
        "navigation": navigation_for(user),
    }
