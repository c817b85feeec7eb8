"""Managers reset a member of staff's second factor (issue 16.2).

The grants themselves now live in one table, core.roles.ROLE_PERMISSIONS,
synced to the roles' groups after every migrate. This migration keeps its place in
the history and does nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("eligibility", "0017_second_factor_events")]

    operations = []
