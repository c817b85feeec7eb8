"""Managers read the access log (issue 16.8).

The grants themselves now live in one table, core.roles.ROLE_PERMISSIONS,
synced to the roles' groups after every migrate. This migration keeps its place in
the history and does nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("eligibility", "0015_access_log")]

    operations = []
