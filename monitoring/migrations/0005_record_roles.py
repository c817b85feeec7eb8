"""Nurses record tox screens, breath tests and methadone collections; HCAs record
breath tests; prescribers and managers read them; a pharmacy's integration token
reports its collections.

The grants themselves now live in one table, core.roles.ROLE_PERMISSIONS,
synced to the roles' groups after every migrate. This migration keeps its place in
the history and does nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0004_records")]

    operations = []
