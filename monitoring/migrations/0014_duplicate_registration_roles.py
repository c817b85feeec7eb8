"""Prescribers and managers see possible duplicate registrations (issue 16.4).

The grants themselves now live in one table, core.roles.ROLE_PERMISSIONS,
synced to the roles' groups after every migrate. This migration keeps its place in
the history and does nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0013_duplicate_registration_alert")]

    operations = []
