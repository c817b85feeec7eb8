"""What every dashboard shares: the filters, the periods, adherence, summing counted rows."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    QuerySet,
)

from ..rollups import (
    COLUMNS,
)


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


PERIODS = {
    "day": lambda day: day,
    "week": _monday,
    "month": lambda day: day.replace(day=1),
}


@dataclass(frozen=True)
class Filters:
    clinics: QuerySet
    start: dt.date
    end: dt.date  # inclusive


def adherence(row) -> float | None:
    """Doses taken as a share of the sessions that counted: scheduled, less excused
    and those still open. None when no session counted."""
    counted = row["scheduled"] - row["excused"] - row["open"]
    return round(100 * row["administered"] / counted, 1) if counted else None


def _summed(rows, key, **fields) -> dict:
    """Add up the outcome columns of pre-counted rows by key; `fields` names what to
    keep of each group's first row."""
    groups: dict = {}
    for row in rows:
        group = groups.get(key(row))
        if group is None:
            group = groups[key(row)] = {
                **{name: source(row) for name, source in fields.items()},
                **dict.fromkeys(COLUMNS, 0),
            }
        for column in COLUMNS:
            group[column] += row[column]
    return groups
