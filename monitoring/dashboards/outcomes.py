"""Outcomes: the share of tox screens positive, by month and substance, and by clinic."""

from ..models import STREET_HEROIN_MARKERS, Substance
from ..rollups import (
    as_date,
    tox_month_rows,
)
from .common import Filters
from .rows import ClinicShare, MonthShares, Outcomes, Share, SubstanceShare


def outcomes(filters: Filters) -> Outcomes:
    """By month of sample: the share of tox screens positive for the street heroin
    markers, and for each other substance (among the screens that tested it); and
    the street heroin share by clinic over the whole range. Counted in SQL (over the
    daily roll-up and the screens recorded since: monitoring/rollups.py); five
    queries."""
    names = dict(filters.clinics.order_by("name").values_list("pk", "name"))
    rows = tox_month_rows(filters.clinics, filters.start, filters.end)
    table: dict = {}
    clinic_heroin = {pk: [0, 0] for pk in names}
    for row in rows:
        month = as_date(row["period"])
        cell = table.setdefault(month, {}).setdefault(row["substance"], [0, 0])
        cell[0] += row["positive"]
        cell[1] += row["tested"]
        if row["substance"] == "street_heroin":
            clinic_heroin[row["clinic"]][0] += row["positive"]
            clinic_heroin[row["clinic"]][1] += row["tested"]
    labels = {"street_heroin": "Street heroin markers"} | {
        s.value: s.label for s in Substance if s not in STREET_HEROIN_MARKERS
    }
    months = [
        MonthShares(
            month=month,
            cells=[
                SubstanceShare(**_share(*table[month].get(code, (0, 0))), substance=code)
                for code in labels
            ],
        )
        for month in sorted(table)
    ]
    return {
        "substances": labels,
        "rows": months,
        "by_clinic": [
            ClinicShare(clinic=pk, name=name, **_share(*clinic_heroin[pk]))
            for pk, name in names.items()
            if clinic_heroin[pk][1]
        ],
    }


def _share(positive: int, tested: int) -> Share:
    return {
        "positive": positive,
        "tested": tested,
        "percent": round(100 * positive / tested, 1) if tested else None,
    }
