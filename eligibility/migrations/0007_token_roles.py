"""Managers issue, see and revoke their clinic's integration tokens in the browser.

The grants themselves now live in one table, core.roles.ROLE_PERMISSIONS,
synced to the roles' groups after every migrate. This migration keeps its place in
the history and does nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("eligibility", "0006_history_reason_text")]

    operations = []
