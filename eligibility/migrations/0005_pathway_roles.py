"""Anyone on the staff records a referral; nurses and prescribers assess; only
prescribers decide and admit; managers read."""

from django.db import migrations

from hat_clinic.roles import Role, grant_role_permissions

READ = ["eligibility.view_referral", "eligibility.view_eligibilityassessment"]

GRANTS = {
    Role.NURSE: [*READ, "eligibility.add_referral", "eligibility.add_eligibilityassessment"],
    Role.HCA: [*READ, "eligibility.add_referral"],
    Role.PRESCRIBER: [
        *READ,
        "eligibility.add_referral",
        "eligibility.add_eligibilityassessment",
        "eligibility.decide_referral",
        "eligibility.admit",
    ],
    Role.MANAGER: [*READ, "eligibility.add_referral"],
}


class Migration(migrations.Migration):
    dependencies = [("eligibility", "0004_pathway")]

    operations = [migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop)]
