"""The dashboards' tables, built once from their typed rows (rows.py) for both the page
and the CSV. A Column says how a row's value is headed and shown on each: the page's
label and text (a unit, a word for none), the CSV's header and raw value (blank for
none). A table the page shows differently from its CSV (fewer rows, fewer columns, a
month by substance grid) is a second Table from the same columns, marked not for
export, whose CSV link names the full one."""

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.urls import reverse
from django.utils.formats import date_format

from ..rollups import COLUMNS
from .retention import MILESTONES
from .rows import (
    Attendance,
    ChoiceCounts,
    Outcomes,
    Retention,
    ServiceUserCounts,
    SessionCounts,
    SubstanceShare,
    Workload,
)

Row = Any  # one of the TypedDicts of rows.py


def _as_text(value: Any) -> str:
    return str(value)


@dataclass(frozen=True)
class Column:
    """One column: its CSV header and page label, and how to get a row's value."""

    header: str
    label: str
    value: Callable[[Row], Any]
    unit: str = ""  # after the value on the page: "%"
    missing: str = ""  # the page's text for a value of None; the CSV leaves it blank
    text: Callable[[Any], str] = _as_text  # the page's text for a value
    detail: Callable[[Any], str] | None = None  # small print after it on the page
    strong: bool = False
    on_page: bool = True
    in_csv: bool = True

    def shown(self, row: Row) -> dict[str, Any]:
        value = self.value(row)
        if value is None:
            return {"text": self.missing, "strong": self.strong}
        return {
            "text": f"{self.text(value)}{self.unit}",
            "detail": self.detail(value) if self.detail else "",
            "strong": self.strong,
        }


def key(name: str, header: str = "", label: str = "", **options: Any) -> Column:
    """A column showing the row's `name` field."""
    return Column(
        header or name,
        label or name.replace("_", " ").capitalize(),
        lambda row: row[name],
        **options,
    )


@dataclass(frozen=True)
class Table:
    """A table of rows: the first column heads each row (the page's row header),
    `total` (if any) is the footer. `export` names the CSV that holds it, `exported`
    whether this is that CSV. `link` gives a row's page, if it has one."""

    export: str
    title: str
    testid: str
    columns: Sequence[Column]
    rows: Sequence[Row]
    total: Row | None = None
    exported: bool = True
    empty: str = ""  # the page's line when there are no rows
    link: Callable[[Row], str] | None = None
    scrolls: bool = False  # a long table: a fixed height, its head kept in view
    note: str = ""

    # The CSV ---------------------------------------------------------------------

    def header(self) -> list[str]:
        return [column.header for column in self.columns if column.in_csv]

    def csv_rows(self) -> Iterator[list[Any]]:
        csv_columns = [column for column in self.columns if column.in_csv]
        for row in [*self.rows, *([self.total] if self.total else [])]:
            yield ["" if (v := column.value(row)) is None else v for column in csv_columns]

    # The page --------------------------------------------------------------------

    @property
    def labels(self) -> list[str]:
        return [column.label for column in self.columns if column.on_page]

    def _shown(self, row: Row) -> dict[str, Any]:
        first, *rest = [column for column in self.columns if column.on_page]
        return {
            "label": first.shown(row)["text"],
            "href": self.link(row) if self.link else "",
            "cells": [column.shown(row) for column in rest],
        }

    @property
    def body(self) -> list[dict[str, Any]]:
        return [self._shown(row) for row in self.rows]

    @property
    def footer(self) -> dict[str, Any] | None:
        return self._shown(self.total) if self.total else None

    def on_page(self, **changes: Any) -> "Table":
        """The same table shown differently on the page; its CSV link stays."""
        return replace(self, exported=False, **changes)


@dataclass(frozen=True)
class Tables:
    """A dashboard's tables by name; those `exported` can be downloaded as CSV."""

    by_name: dict[str, Table] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Table:
        return self.by_name[name]

    def exports(self) -> list[str]:
        return [name for name, table in self.by_name.items() if table.exported]


def _item(field: str, index: Any) -> Callable[[Row], Any]:
    """A column's value: the row's `field`, then its item `index`."""
    return lambda row: row[field][index]


def _percent(header: str, label: str, value: Callable[[Row], Any], missing: str = "—") -> Column:
    return Column(header, label, value, unit="%", missing=missing)


# Attendance ---------------------------------------------------------------------

SESSION_COLUMNS = [
    *(key(name) for name in COLUMNS),
    _percent("adherence %", "Adherence", lambda row: row["adherence"], missing=""),
]


def attendance_tables(
    numbers: Attendance, *, period: str, people_shown: list[ServiceUserCounts]
) -> Tables:
    by_person = Table(
        "service_user",
        "By service user, lowest adherence first",
        "by-service-user",
        [key("name", "service_user", "Service user"), *SESSION_COLUMNS],
        numbers["by_service_user"],
        link=lambda row: reverse("service-user-detail", args=[row["service_user"]]),
    )
    totals: SessionCounts = numbers["totals"]
    return Tables(
        {
            "period": Table(
                "period",
                f"By {period}",
                "by-period",
                [
                    Column(
                        "period",
                        f"{period.capitalize()} from",
                        lambda row: row["period"],
                        text=lambda day: date_format(day, "j M Y"),
                    ),
                    *SESSION_COLUMNS,
                ],
                numbers["by_period"],
                empty="No sessions in this range.",
            ),
            "slot": Table(
                "slot",
                "By slot",
                "by-slot",
                [key("slot_code", "slot", "Slot"), *SESSION_COLUMNS],
                numbers["by_slot"],
            ),
            "service_user": by_person,
            "people_shown": by_person.on_page(
                rows=people_shown,
                note=(
                    f"The {len(people_shown)} with the lowest adherence of "
                    f"{len(by_person.rows)} service users; the CSV has everyone."
                    if len(people_shown) < len(by_person.rows)
                    else ""
                ),
            ),
            "clinic": Table(
                "clinic",
                "By clinic",
                "by-clinic",
                [key("clinic__name", "clinic", "Clinic"), *SESSION_COLUMNS],
                numbers["by_clinic"],
                total={**totals, "clinic__name": "Total"},
            ),
        }
    )


# Retention ----------------------------------------------------------------------


def crosstab(
    export: str, title: str, first: Sequence[Column], rows: Sequence[Row], clinics: list[str]
) -> Table:
    """Counts by a choice (the `first` columns) and clinic, with the total."""
    return Table(
        export,
        title,
        export,
        [
            *first,
            *(Column(name, name, _item("by_clinic", i)) for i, name in enumerate(clinics)),
            Column("total", "Total", lambda row: row["total"], strong=True),
        ],
        rows,
    )


def retention_tables(numbers: Retention) -> Tables:
    clinics = [row["name"] for row in numbers["by_clinic"]]
    return Tables(
        {
            "curve": Table(
                "curve",
                "Retention curve",
                "curve",
                [
                    key("week", "weeks since admission", "Weeks since admission"),
                    key("at_risk", "at risk"),
                    key("exits"),
                    key("censored"),
                    _percent("retained %", "Retained", lambda row: row["retained"]),
                ],
                numbers["curve"],
                empty="No one was admitted in this range.",
                scrolls=True,
            ),
            "time_in_treatment": Table(
                "time_in_treatment",
                "Time in treatment",
                "time_in_treatment",
                [
                    key("band", "time in treatment", "Weeks"),
                    key("in_treatment", "in treatment"),
                    key("ended"),
                ],
                numbers["bands"],
            ),
            "clinic": Table(
                "clinic",
                "By clinic",
                "clinic",
                [
                    key("name", "clinic", "Clinic"),
                    key("episodes"),
                    key("in_treatment", "in treatment"),
                    key("ended"),
                    key("median_weeks", "median weeks", missing="not reached"),
                    key("mean_days_ended", "mean days (ended)", "Mean days (ended)", missing="—"),
                    *(
                        _percent(
                            f"retained at {week} weeks %",
                            f"At {week} wk",
                            _item("retained", week),
                        )
                        for week in MILESTONES
                    ),
                ],
                numbers["by_clinic"],
                total={**numbers["total"], "name": "Total"},
            ),
            "exits": crosstab(
                "exits",
                "Exits by kind",
                [
                    key("label", "kind", "Exit", in_csv=False),
                    key("kind_label", "kind", on_page=False),
                    key("detail_label", "detail", on_page=False),
                ],
                numbers["exits"],
                clinics,
            ),
        }
    )


# Outcomes -----------------------------------------------------------------------


def _month(row: Row) -> str:
    return str(row["month"].strftime("%Y-%m"))


def outcomes_tables(numbers: Outcomes) -> Tables:
    substances = numbers["substances"]
    by_substance = [
        {**cell, "month": row["month"], "substance": substances[cell["substance"]]}
        for row in numbers["rows"]
        for cell in row["cells"]
    ]
    month = Table(
        "month",
        "By month",
        "outcomes",
        [
            Column("month", "Month", _month),
            key("substance"),
            key("positive"),
            key("tested"),
            _percent("positive %", "Positive %", lambda row: row["percent"]),
        ],
        by_substance,
        empty="No tox screens in this range.",
    )
    return Tables(
        {
            "month": month,
            # The page: a month to a row, a column for each substance.
            "months": month.on_page(
                columns=[
                    Column("month", "Month", lambda row: row["month"], text=_month_name),
                    *(
                        Column(
                            code,
                            label,
                            _item("cells", i),
                            text=_percent_tested,
                            detail=_tested,
                        )
                        for i, (code, label) in enumerate(substances.items())
                    ),
                ],
                rows=numbers["rows"],
            ),
            "clinic": Table(
                "clinic",
                "Street heroin markers by clinic, whole range",
                "outcomes-by-clinic",
                [
                    key("name", "clinic", "Clinic"),
                    key("positive", "street heroin positive", "Positive"),
                    key("tested"),
                    _percent("positive %", "Positive %", lambda row: row["percent"]),
                ],
                numbers["by_clinic"],
            ),
        }
    )


def _month_name(day: dt.date) -> str:
    return date_format(day, "M Y")


def _percent_tested(cell: SubstanceShare) -> str:
    return f"{cell['percent']}%" if cell["tested"] else "—"


def _tested(cell: SubstanceShare) -> str:
    return f"({cell['positive']}/{cell['tested']})" if cell["tested"] else ""


# Workload and safety ------------------------------------------------------------

PLACES_COLUMNS = [
    key("capacity"),
    key("taken", label="In treatment"),
    key("suspended", label="of whom suspended"),
    key("offered"),
    key("free"),
    _percent("occupancy", "Occupancy", lambda row: row["occupancy"]),
    key("waiting"),
    key("longest_wait_days", label="Longest wait (days)", missing="—"),
    key("reviews_overdue"),
    key("tox_overdue", label="Tox overdue"),
]
SAFETY_COLUMNS = [
    key("adverse_events"),
    key("over_sedation", label="Over-sedation"),
    key("overdoses"),
    key("naloxone_given"),
    key("naloxone_mg", label="Naloxone (mg)"),
    key("ambulances", label="Ambulance called"),
]
CLINIC = key("name", "clinic", "Clinic")


def workload_tables(numbers: Workload) -> Tables:
    clinics = [row["name"] for row in numbers["by_clinic"]]
    by_clinic = Table(
        "clinic",
        "Places and the waiting list, now",
        "places",
        [CLINIC, *PLACES_COLUMNS, *SAFETY_COLUMNS],
        numbers["by_clinic"],
        total={**numbers["total"], "name": "Total"},
    )

    def choices(
        export: str, title: str, first: str, header: str, rows: list[ChoiceCounts]
    ) -> Table:
        return crosstab(export, title, [key("label", header, first)], rows, clinics)

    return Tables(
        {
            "clinic": by_clinic,
            "places": by_clinic.on_page(columns=[CLINIC, *PLACES_COLUMNS]),
            "safety": by_clinic.on_page(
                title="Adverse events and naloxone",
                testid="safety",
                columns=[CLINIC, *SAFETY_COLUMNS],
            ),
            "alerts": choices(
                "alerts", "Open alerts by kind, now", "Alert", "open alerts", numbers["alerts"]
            ),
            "retitrations": choices(
                "retitrations",
                "Re-titrations by cause",
                "Cause",
                "re-titration cause",
                numbers["retitrations"],
            ),
            "withholds": choices(
                "withholds",
                "Withholds by reason",
                "Reason",
                "withhold reason",
                numbers["withholds"],
            ),
            "away": Table(
                "away",
                "Take-home and guest dosing by month",
                "away",
                AWAY_COLUMNS,
                numbers["away"],
                empty="No take-home supplies, returns, lapses or guest stays in these dates.",
            ),
        }
    )


AWAY_COLUMNS = [
    Column("month", "Month", _month),
    CLINIC,
    key("supplies", label="Take-home supplies"),
    key("doses_supplied", label="Doses supplied"),
    key("returns", label="Returns"),
    key("doses_returned", label="Doses returned"),
    key("lapses", label="Take-home lapses"),
    key("guest_sessions_hosted", label="Guest sessions hosted"),
    key("guest_sessions_away", label="Sessions as a guest elsewhere"),
]
