"""Tolerance lapses the clinic's re-titration days after the last dose (DOMAIN.md):
people dosed before the column existed get it from their last injection."""

import datetime as dt

from django.db import migrations
from django.db.models import Max


# Every policy version has the default, 3 days: the column was added with it.
DAYS = dt.timedelta(days=3)


def backfill(apps, schema_editor):
    ServiceUser = apps.get_model("eligibility", "ServiceUser")
    Administration = apps.get_model("dosing", "Administration")
    last = (
        Administration.objects.values("session__service_user_id")
        .annotate(at=Max("injected_at"))
        .values_list("session__service_user_id", "at")
    )
    for person, at in last.iterator():
        ServiceUser.objects.filter(pk=person).update(tolerance_lapses_at=at + DAYS)


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0028_amendment_names_its_assessment"),
        ("eligibility", "0011_lapse_and_prescribing_limits"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
