"""Prescribers issue prescriptions; every role may read them.

The grants themselves now live in one table, core.roles.ROLE_PERMISSIONS,
synced to the roles' groups after every migrate. This migration keeps its place in
the history and does nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0001_initial"),
        ("eligibility", "0002_roles"),
    ]

    operations = []
