"""Attendance: sessions scheduled against each outcome, by period, slot, service user
and clinic."""

from eligibility.models import ServiceUser

from ..rollups import (
    COLUMNS,
    attendance_people,
    attendance_rows,
    rolled_through,
)
from .common import PERIODS, Filters, _summed, adherence
from .rows import Attendance


def attendance(filters: Filters, *, period: str = "week") -> Attendance:
    """Sessions scheduled against each outcome: in total, by day, week or month, by
    slot, by service user with their adherence, and by clinic. The counting is done
    in SQL (over the daily roll-up for settled days and the sessions for the rest:
    monitoring/rollups.py); the few thousand counted rows are added up here. Six
    queries."""
    through = rolled_through()
    rows = attendance_rows(filters.clinics, filters.start, filters.end, through=through)
    totals = _summed(rows, lambda r: None).get(None, dict.fromkeys(COLUMNS, 0))
    truncate = PERIODS[period]
    by_period = sorted(
        _summed(
            rows, lambda r: truncate(r["clinic_day"]), period=lambda r: truncate(r["clinic_day"])
        ).values(),
        key=lambda r: r["period"],
    )
    by_slot = sorted(
        _summed(rows, lambda r: r["slot_code"], slot_code=lambda r: r["slot_code"]).values(),
        key=lambda r: r["slot_code"],
    )
    by_clinic = sorted(
        _summed(
            rows,
            lambda r: r["clinic"],
            clinic=lambda r: r["clinic"],
            clinic__name=lambda r: r["clinic__name"],
        ).values(),
        key=lambda r: r["clinic__name"],
    )
    people = _summed(
        attendance_people(filters.clinics, filters.start, filters.end, through=through),
        lambda r: r["service_user"],
        service_user=lambda r: r["service_user"],
    )
    # Names after counting: grouping by them too made the database sort every row.
    for pk, given, family, preferred in ServiceUser.objects.filter(
        clinic__in=filters.clinics
    ).values_list("pk", "given_name", "family_name", "preferred_name"):
        if pk in people:
            people[pk].update(
                service_user__given_name=given,
                service_user__family_name=family,
                service_user__preferred_name=preferred,
            )
    by_person = sorted(
        people.values(),
        key=lambda r: (
            r["service_user__family_name"],
            r["service_user__given_name"],
            r["service_user"],
        ),
    )
    for row in [totals, *by_period, *by_slot, *by_person, *by_clinic]:
        row["adherence"] = adherence(row)
    for row in by_person:
        row["name"] = row["service_user__preferred_name"] or (
            f"{row['service_user__given_name']} {row['service_user__family_name']}"
        )
    return {
        "totals": totals,
        "by_period": by_period,
        "by_slot": by_slot,
        "by_service_user": by_person,
        "by_clinic": by_clinic,
    }
