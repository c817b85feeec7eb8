"""The staff roles. Each is a Django group; what a role may do is its permissions,
listed once in ROLE_PERMISSIONS and synced to the groups after every migrate.

A person may hold several roles. Clinic roles are held per clinic membership
(eligibility.StaffMembership.roles); the installation administrator's is held on the
account. Code asks for a permission, never a group name.
"""

from typing import TYPE_CHECKING

from django.db.models import TextChoices

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.contrib.auth.models import AbstractUser


class Role(TextChoices):
    NURSE = "Nurse"
    HCA = "Health-care assistant"
    PRESCRIBER = "Prescriber"
    MANAGER = "Manager"
    # Not a person: an integration token's role, e.g. a pharmacy reporting collections.
    PHARMACY = "Pharmacy integration"
    # Of the installation, not of a clinic: opens clinics and names their first manager.
    INSTALLATION_ADMIN = "Installation administrator"


# The roles a person holds in a clinic, which a manager may grant on the staff page.
# The installation administrator is not among them: no manager can grant it.
CLINIC_ROLES = (Role.NURSE, Role.HCA, Role.PRESCRIBER, Role.MANAGER)

# What a request may do is the permissions of the roles held in the clinics it acts in.
# A page acts in the clinic chosen in the navigation; an API action in the clinics
# where the caller holds its permission. Whoever decides sets the clinics' ids on the
# user object under this name (eligibility.permissions.act_in); unset, a check spans
# every clinic of the person's.
ACTING_IN = "hat_acting_in"


# What each role may read: every clinical record of its clinics. Each role adds the
# actions below. A permission is "app_label.codename".
READ_RECORDS = [
    "eligibility.view_clinic",
    "eligibility.view_serviceuser",
    "eligibility.view_referral",
    "eligibility.view_eligibilityassessment",
    "dosing.view_prescription",
    "dosing.view_methadoneprescription",
    "dosing.view_review",
    "dosing.view_reducingplan",
    "dosing.view_serviceclosure",
    "dosing.view_dosesession",
    "dosing.view_amendment",
    "dosing.view_suspension",
    "dosing.view_exit",
    "dosing.view_gueststay",
    "dosing.view_pharmacy",
    "dosing.view_registersection",
    "dosing.view_registerentry",
    "alerts.view_alert",
    "dosing.view_breathtest",
    "monitoring.view_toxscreen",
    "monitoring.view_methadonecollection",
]
# Everyone on the staff records a referral and the person it refers.
REFER = ["eligibility.add_referral", "eligibility.add_serviceuser"]

# The one table of what each role may do. Synced to the role's group after every
# migrate (sync_role_permissions): a permission added here is granted, one removed is
# taken away. Code asks for a permission, never a role.
ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.NURSE: [
        *READ_RECORDS,
        *REFER,
        "eligibility.add_eligibilityassessment",
        # The record: identity corrections, the photo, risk flags.
        "eligibility.change_serviceuser",
        "eligibility.flag_serviceuser",
        # The dosing room.
        "dosing.assess",
        "dosing.administer",
        "dosing.observe",
        "dosing.witness_dose",
        "dosing.amend",
        # Take-home doses handed over, witnessed.
        "dosing.supply_take_home",
        # Suspension and return; the register's stock.
        "dosing.add_suspension",
        "dosing.change_suspension",
        "dosing.add_registerentry",
        "dosing.receive_stock",
        # Monitoring records and alerts.
        "dosing.add_breathtest",
        "monitoring.add_toxscreen",
        "monitoring.add_methadonecollection",
        "alerts.acknowledge_alert",
    ],
    Role.HCA: [
        *READ_RECORDS,
        *REFER,
        "dosing.observe",
        "dosing.witness_dose",
        "dosing.add_breathtest",
    ],
    Role.PRESCRIBER: [
        *READ_RECORDS,
        *REFER,
        # The record: identity corrections, the photo, risk flags.
        "eligibility.change_serviceuser",
        "eligibility.flag_serviceuser",
        # The pathway: assess, decide, admit, and a person's status.
        "eligibility.add_eligibilityassessment",
        "eligibility.decide_referral",
        "eligibility.admit",
        "eligibility.change_status",
        # Prescribing, reviews, suspension and exit.
        "dosing.prescribe",
        "dosing.add_review",
        "dosing.add_suspension",
        "dosing.change_suspension",
        "dosing.add_exit",
        # A guest stay at another clinic of the installation.
        "dosing.add_gueststay",
        # The register: stock in, and witnessing a destruction.
        "dosing.add_registerentry",
        "dosing.receive_stock",
        "dosing.witness_cd_destruction",
        "alerts.acknowledge_alert",
        "alerts.view_duplicate_registration",
    ],
    Role.MANAGER: [
        *READ_RECORDS,
        *REFER,
        # Identity corrections and the photo (not risk flags: clinical).
        "eligibility.change_serviceuser",
        # Policy, staff, the audit and who looked at a record.
        "eligibility.view_clinicpolicy",
        "eligibility.add_clinicpolicy",
        "eligibility.view_staffmembership",
        "eligibility.add_staffmembership",
        "eligibility.change_staffmembership",
        "eligibility.reset_second_factor",
        "eligibility.view_audit",
        "eligibility.view_accesslog",
        # Integration tokens, pharmacies and a service closure.
        "eligibility.view_integrationtoken",
        "eligibility.add_integrationtoken",
        "eligibility.change_integrationtoken",
        "dosing.add_pharmacy",
        "dosing.change_pharmacy",
        "dosing.add_registersection",
        "dosing.add_serviceclosure",
        # Guest stays at this clinic: accepted, declined or ended here.
        "dosing.accept_guest_stay",
        # Alerts, their e-mail addresses and the dashboards.
        "alerts.acknowledge_alert",
        "alerts.view_duplicate_registration",
        "alerts.view_alertaddress",
        "alerts.add_alertaddress",
        "alerts.change_alertaddress",
        "alerts.delete_alertaddress",
        "monitoring.view_dashboards",
    ],
    # Opens a clinic and names its first manager; sees the clinics, nothing in them.
    Role.INSTALLATION_ADMIN: ["eligibility.add_clinic", "eligibility.view_clinic"],
    # Not a person: a pharmacy's integration token reports methadone collections.
    Role.PHARMACY: [
        "monitoring.add_methadonecollection",
        "monitoring.view_methadonecollection",
    ],
}


def sync_role_permissions(apps: "Apps | None" = None) -> None:
    """Give each role's group exactly the permissions ROLE_PERMISSIONS lists, creating
    the group where it is missing. Runs after every migrate (and after a test empties
    the tables); a name that matches no permission stops it, naming the name."""
    from django.apps import apps as global_apps

    apps = apps or global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = {name for names in ROLE_PERMISSIONS.values() for name in names}
    found = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.filter(
            content_type__app_label__in={name.split(".")[0] for name in wanted}
        ).values_list("pk", "content_type__app_label", "codename")
    }
    missing = sorted(wanted - set(found))
    if missing:
        raise LookupError(f"ROLE_PERMISSIONS names permissions that do not exist: {missing}")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        group.permissions.set([found[name] for name in names])


def staff_name(user: "AbstractUser") -> str:
    """How a member of staff is named on pages, exports and messages: their full name,
    or their username when no name is recorded (a pharmacy integration's account)."""
    return user.get_full_name() or user.get_username()
