from hat_clinic.navigation import navigation_for
from hat_clinic.roles import Role


def clinic_navigation(request):
    """The clinic's name, the staff member's clinics and roles, for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    group_names = {group.name for group in user.groups.all()}
    roles = [role for role in Role if role.value in group_names]
    return {
        "current_clinic": getattr(request, "clinic", None),
        "staff_clinics": getattr(request, "staff_clinics", []),
        "staff_roles": roles,
        "can_view_audit": user.has_perm("eligibility.view_audit"),
        "navigation": navigation_for(user),
    }
