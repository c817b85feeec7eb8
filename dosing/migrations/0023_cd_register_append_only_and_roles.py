"""The register's entries refuse UPDATE (and DELETE on PostgreSQL) in the database.
Nurses and prescribers receive stock and record entries; HCAs witness (their
permission to witness doses); prescribers are the authorised witnesses of a
destruction; managers read only. (Those grants now live in
core.roles.ROLE_PERMISSIONS, synced after every migrate.)"""

from django.db import migrations

from core.append_only import protect


class Migration(migrations.Migration):
    dependencies = [("dosing", "0022_cd_register")]

    operations = [
        migrations.RunPython(*protect(["dosing_registerentry"])),
    ]
