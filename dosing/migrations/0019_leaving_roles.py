"""Nurses and prescribers record a suspension and the return from it; prescribers
record an exit; everyone reads them.

The grants themselves now live in one table, core.roles.ROLE_PERMISSIONS,
synced to the roles' groups after every migrate. This migration keeps its place in
the history and does nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("dosing", "0018_suspensions_and_exits")]

    operations = []
