"""The register's entries refuse UPDATE (and DELETE on PostgreSQL) in the database.
Nurses and prescribers receive stock and record entries; HCAs witness (their
permission to witness doses); prescribers are the authorised witnesses of a
destruction; managers read only."""

from django.db import migrations

from hat_clinic.append_only import protect
from hat_clinic.roles import Role, grant_role_permissions

READ = ["dosing.view_registersection", "dosing.view_registerentry"]

GRANTS = {
    Role.NURSE: [*READ, "dosing.add_registerentry", "dosing.receive_stock"],
    Role.HCA: READ,
    Role.PRESCRIBER: [
        *READ,
        "dosing.add_registerentry",
        "dosing.receive_stock",
        "dosing.witness_cd_destruction",
    ],
    Role.MANAGER: READ,
}


class Migration(migrations.Migration):
    dependencies = [("dosing", "0022_cd_register")]

    operations = [
        migrations.RunPython(*protect(["dosing_registerentry"])),
        migrations.RunPython(grant_role_permissions(GRANTS), migrations.RunPython.noop),
    ]
