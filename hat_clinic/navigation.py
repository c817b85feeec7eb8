"""The main navigation, by role: each entry shows only to staff holding its permission.

Later capabilities (the dosing board, reviews, the register, dashboards) add
their entries here.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    permission: str | None = None  # None: every member of staff


NAVIGATION = (
    NavEntry("Today", "home"),
    NavEntry("Dosing room", "board", "dosing.view_dosesession"),
    NavEntry("Alerts", "alert-inbox", "alerts.view_alert"),
    NavEntry("Service users", "service-user-list", "eligibility.view_serviceuser"),
    NavEntry("Referrals", "referral-list", "eligibility.view_referral"),
    NavEntry("CD register", "register-index", "dosing.view_registersection"),
    NavEntry("Reviews", "review-queue", "dosing.add_review"),
    # The four dashboards share one entry; tabs on each page lead to the others.
    NavEntry("Dashboards", "dashboard-attendance", "monitoring.view_dashboards"),
    NavEntry("Clinic policy", "clinic-policy", "eligibility.view_clinicpolicy"),
    NavEntry("Service closure", "service-closure", "dosing.add_serviceclosure"),
    NavEntry("Staff", "staff-list", "eligibility.view_staffmembership"),
    # The installation administrator's: every clinic, and opening one.
    NavEntry("Clinics", "clinics", "eligibility.add_clinic"),
)


def navigation_for(user) -> list[NavEntry]:
    return [
        entry for entry in NAVIGATION if entry.permission is None or user.has_perm(entry.permission)
    ]
