"""The managers' dashboards in the browser (a chart, and the same numbers as tables,
each exportable as CSV with the filters applied) and through the API
(dashboard/attendance/, retention/, outcomes/, workload/). Each dashboard is
described once (ATTENDANCE, RETENTION, OUTCOMES, WORKLOAD); its page, CSV and API
are made from that."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import requires
from core.csv_export import csv_response
from core.errors import RECORD_YEARS, RuleViolation, in_record_years
from eligibility.access import What, access_record
from eligibility.selectors import clinics_for_staff

from .dashboards import (
    COLUMNS,
    MILESTONES,
    PERIODS,
    SAFETY_COLUMNS,
    Filters,
    attendance,
    outcomes,
    retention,
    workload,
)

DEFAULT_DAYS = 28
MAX_DAYS = 3 * 366
# The dates a dashboard may be asked about: counting by week or month from 0001-01-01
# or to 9999-12-31 would step outside the calendar Python knows.
FIRST_DAY = dt.date(RECORD_YEARS.start, 1, 1)
LAST_DAY = dt.date(RECORD_YEARS.stop - 1, 12, 31)
# A region has thousands of service users: the page lists those with the lowest
# adherence first, this many; the CSV and the API have everyone.
PEOPLE_SHOWN = 100
TABS = [
    ("dashboard-attendance", "Attendance"),
    ("dashboard-retention", "Retention"),
    ("dashboard-outcomes", "Outcomes"),
    ("dashboard-workload", "Workload and safety"),
]


def dashboard_filters(request, params, *, default_days: int = DEFAULT_DAYS) -> Filters:
    """?from=&to=&clinic=: the caller's clinics (all, or one), and a date range
    (the last 28 days by default). Another clinic is a 404."""
    clinics = clinics_for_staff(request.user)
    if params.get("clinic"):
        try:
            clinic_id = int(params["clinic"])
        except ValueError as error:
            raise RuleViolation(
                "Choose one of your clinics.", code="clinic_invalid", field="clinic"
            ) from error
        # An id beyond the column's range (10**20) finds no row: Django does not send it.
        clinics = clinics.filter(pk=clinic_id)
        if not clinics.exists():
            raise Http404("No such clinic.")  # the page and the API both answer 404
    today = timezone.localdate()
    end = _date(params.get("to"), "to") or today
    start = _date(params.get("from"), "from") or end - dt.timedelta(days=default_days - 1)
    if start > end:
        raise RuleViolation("'from' is after 'to'.", code="range_invalid", field="from")
    if (end - start).days > MAX_DAYS:
        raise RuleViolation(
            f"Choose a range of at most {MAX_DAYS} days.", code="range_too_long", field="from"
        )
    return Filters(clinics=clinics, start=start, end=end)


def _date(value, name):
    if not value:
        return None
    try:
        day = parse_date(value)
    except ValueError:  # well formed but no such date, e.g. 2026-13-01
        day = None
    if day is None:
        raise RuleViolation(f"Give '{name}' as YYYY-MM-DD.", code="date_invalid", field=name)
    if not in_record_years(day):
        raise RuleViolation(
            f"Give '{name}' between {FIRST_DAY:%d %b %Y} and {LAST_DAY:%d %b %Y}.",
            code="date_out_of_range",
            field=name,
        )
    return day


def _period(params):
    period = params.get("period") or "week"
    if period not in PERIODS:
        raise RuleViolation("period is day, week or month.", code="period_invalid", field="period")
    return period


def _blank_if_none(value):
    return "" if value is None else value


def _outcome_row(label, row):
    return [label, *(row[c] for c in COLUMNS), _blank_if_none(row["adherence"])]


def _clinic_names(numbers):
    return [row["name"] for row in numbers["by_clinic"]]


def _crosstab_table(numbers, key, first):
    """A table of counts by a choice and clinic, with the total."""
    return (
        [first, *_clinic_names(numbers), "total"],
        ([row["label"], *row["by_clinic"], row["total"]] for row in numbers[key]),
    )


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: how to compute its numbers from the filters and the query
    string, the data for its chart, and its tables as CSV (header, rows)."""

    name: str
    default_days: int
    compute: Callable[[Filters, dict], dict]
    chart: Callable[[dict], dict]
    tables: dict[str, Callable[[dict], tuple[list, object]]] = field(default_factory=dict)
    context: Callable[[dict], dict] = lambda params: {}
    # What the page shows of the numbers, when that is less than all of them.
    shown: Callable[[dict], dict] = lambda numbers: {}


ATTENDANCE = Dashboard(
    name="attendance",
    default_days=DEFAULT_DAYS,
    compute=lambda filters, params: attendance(filters, period=_period(params)),
    chart=lambda numbers: {
        "labels": [row["period"].isoformat() for row in numbers["by_period"]],
        "series": {name: [row[name] for row in numbers["by_period"]] for name in COLUMNS[1:]},
    },
    tables={
        "period": lambda n: (
            ["period", *COLUMNS, "adherence %"],
            (_outcome_row(row["period"], row) for row in n["by_period"]),
        ),
        "slot": lambda n: (
            ["slot", *COLUMNS, "adherence %"],
            (_outcome_row(row["slot_code"], row) for row in n["by_slot"]),
        ),
        "service_user": lambda n: (
            ["service_user", *COLUMNS, "adherence %"],
            (_outcome_row(row["name"], row) for row in n["by_service_user"]),
        ),
        "clinic": lambda n: (
            ["clinic", *COLUMNS, "adherence %"],
            [
                *(_outcome_row(row["clinic__name"], row) for row in n["by_clinic"]),
                _outcome_row("Total", n["totals"]),
            ],
        ),
    },
    context=lambda params: {"period": _period(params), "columns": COLUMNS},
    shown=lambda numbers: {
        "people_shown": sorted(
            numbers["by_service_user"],
            key=lambda row: (row["adherence"] is None, row["adherence"] or 0, row["name"]),
        )[:PEOPLE_SHOWN]
    },
)


def _retention_summary_row(label, row):
    return [
        label,
        row["episodes"],
        row["in_treatment"],
        row["ended"],
        _blank_if_none(row["median_weeks"]),
        _blank_if_none(row["mean_days_ended"]),
        *(_blank_if_none(row["retained"][week]) for week in MILESTONES),
    ]


RETENTION = Dashboard(
    name="retention",
    default_days=2 * 365,
    compute=lambda filters, params: retention(filters),
    chart=lambda numbers: {
        "labels": [point["week"] for point in numbers["curve"]],
        "retained": [point["retained"] for point in numbers["curve"]],
    },
    tables={
        "curve": lambda n: (
            ["weeks since admission", "at risk", "exits", "censored", "retained %"],
            (
                [p["week"], p["at_risk"], p["exits"], p["censored"], p["retained"]]
                for p in n["curve"]
            ),
        ),
        "time_in_treatment": lambda n: (
            ["time in treatment", "in treatment", "ended"],
            ([row["band"], row["in_treatment"], row["ended"]] for row in n["bands"]),
        ),
        "clinic": lambda n: (
            [
                "clinic",
                "episodes",
                "in treatment",
                "ended",
                "median weeks",
                "mean days (ended)",
                *(f"retained at {week} weeks %" for week in MILESTONES),
            ],
            [
                *(_retention_summary_row(row["name"], row) for row in n["by_clinic"]),
                _retention_summary_row("Total", n["total"]),
            ],
        ),
        "exits": lambda n: (
            ["kind", "detail", *_clinic_names(n), "total"],
            (
                [row["kind_label"], row["detail_label"], *row["by_clinic"], row["total"]]
                for row in n["exits"]
            ),
        ),
    },
    context=lambda params: {"milestones": MILESTONES},
)


def _outcomes_chart(numbers):
    return {
        "labels": [row["month"].strftime("%Y-%m") for row in numbers["rows"]],
        "series": {
            label: [
                next(c["percent"] for c in row["cells"] if c["substance"] == code)
                for row in numbers["rows"]
            ]
            for code, label in numbers["substances"].items()
        },
    }


OUTCOMES = Dashboard(
    name="outcomes",
    default_days=365,
    compute=lambda filters, params: outcomes(filters),
    chart=_outcomes_chart,
    tables={
        "month": lambda n: (
            ["month", "substance", "positive", "tested", "positive %"],
            (
                [
                    row["month"].strftime("%Y-%m"),
                    n["substances"][cell["substance"]],
                    cell["positive"],
                    cell["tested"],
                    _blank_if_none(cell["percent"]),
                ]
                for row in n["rows"]
                for cell in row["cells"]
            ),
        ),
        "clinic": lambda n: (
            ["clinic", "street heroin positive", "tested", "positive %"],
            (
                [row["name"], row["positive"], row["tested"], _blank_if_none(row["percent"])]
                for row in n["by_clinic"]
            ),
        ),
    },
)

PLACES_COLUMNS = [
    "capacity",
    "taken",
    "suspended",
    "offered",
    "free",
    "occupancy",
    "waiting",
    "longest_wait_days",
    "reviews_overdue",
    "tox_overdue",
]


def _workload_row(label, row):
    return [label, *(_blank_if_none(row[c]) for c in [*PLACES_COLUMNS, *SAFETY_COLUMNS])]


WORKLOAD = Dashboard(
    name="workload",
    default_days=DEFAULT_DAYS,
    compute=lambda filters, params: workload(filters),
    chart=lambda numbers: {
        "labels": _clinic_names(numbers),
        "series": {
            name: [row[name] for row in numbers["by_clinic"]]
            for name in ["taken", "offered", "free"]
        },
    },
    tables={
        "clinic": lambda n: (
            ["clinic", *PLACES_COLUMNS, *SAFETY_COLUMNS],
            [
                *(_workload_row(row["name"], row) for row in n["by_clinic"]),
                _workload_row("Total", n["total"]),
            ],
        ),
        "alerts": lambda n: _crosstab_table(n, "alerts", "open alerts"),
        "retitrations": lambda n: _crosstab_table(n, "retitrations", "re-titration cause"),
        "withholds": lambda n: _crosstab_table(n, "withholds", "withhold reason"),
    },
)


def _page(request, dashboard: Dashboard):
    template = f"monitoring/{dashboard.name}.html"
    try:
        export = request.GET.get("export")
        if export and export not in dashboard.tables:
            raise RuleViolation(
                f"There is no table '{export}' to export; choose one of: "
                + ", ".join(dashboard.tables)
                + ".",
                code="export_invalid",
                field="export",
            )
        filters = dashboard_filters(request, request.GET, default_days=dashboard.default_days)
        numbers = dashboard.compute(filters, request.GET)
    except RuleViolation as refusal:
        # The filters again as typed, the one at fault marked, so it can be put right.
        return render(
            request,
            template,
            {
                "error": refusal.message,
                "invalid": refusal.field,
                "typed": request.GET,
                "period": request.GET.get("period", ""),
                "clinics": clinics_for_staff(request.user),
                "dashboard_tabs": TABS,
            },
            status=400,
        )
    if export:
        access_record(request, What.CSV_EXPORT, export=f"{dashboard.name} by {export}")
        header, rows = dashboard.tables[export](numbers)
        return csv_response(
            f"{dashboard.name}-by-{export}-{filters.start}-{filters.end}.csv", header, rows
        )
    return render(
        request,
        template,
        {
            "numbers": numbers,
            "filters": filters,
            "clinics": clinics_for_staff(request.user),
            "chart": dashboard.chart(numbers),
            "typed": {
                "clinic": str(request.GET.get("clinic", "")),
                "from": filters.start.isoformat(),
                "to": filters.end.isoformat(),
                "period": request.GET.get("period", ""),
            },
            "query": _without_export(request),
            "dashboard_tabs": TABS,
            "chart_script": f"js/{dashboard.name}.js",
            **dashboard.context(request.GET),
            **dashboard.shown(numbers),
        },
    )


def _without_export(request):
    params = request.GET.copy()
    params.pop("export", None)
    return params.urlencode()


@permission_required("monitoring.view_dashboards", raise_exception=True)
def attendance_page(request):
    return _page(request, ATTENDANCE)


@permission_required("monitoring.view_dashboards", raise_exception=True)
def retention_page(request):
    return _page(request, RETENTION)


@permission_required("monitoring.view_dashboards", raise_exception=True)
def outcomes_page(request):
    return _page(request, OUTCOMES)


@permission_required("monitoring.view_dashboards", raise_exception=True)
def workload_page(request):
    return _page(request, WORKLOAD)


def _range_parameters(default: str):
    return [
        OpenApiParameter("from", str, description=f"YYYY-MM-DD (default: {default} 'to')"),
        OpenApiParameter("to", str, description="YYYY-MM-DD (default: today)"),
        OpenApiParameter("clinic", int, description="One of the caller's clinics (default: all)"),
    ]


def _numbers(request, dashboard: Dashboard) -> dict:
    params = request.query_params
    filters = dashboard_filters(request, params, default_days=dashboard.default_days)
    return dashboard.compute(filters, params)


@extend_schema(
    parameters=[
        *_range_parameters("27 days before"),
        OpenApiParameter("period", str, enum=list(PERIODS), description="default: week"),
    ],
    responses={200: dict},
)
@api_view(["GET"])
@permission_classes([requires("monitoring.view_dashboards")])
def attendance_api(request):
    """Sessions scheduled against each outcome: totals, by period, by slot, by
    service user with adherence (administered as a share of scheduled, less excused
    and still open), and by clinic."""
    return Response(_numbers(request, ATTENDANCE))


@extend_schema(parameters=_range_parameters("two years before"), responses={200: dict})
@api_view(["GET"])
@permission_classes([requires("monitoring.view_dashboards")])
def retention_api(request):
    """Treatment episodes admitted in the range, followed to its end: the
    Kaplan-Meier retention curve by weeks since admission (people still in treatment
    censored), time in treatment, each clinic and the total, and exits by kind."""
    return Response(_numbers(request, RETENTION))


@extend_schema(parameters=_range_parameters("a year before"), responses={200: dict})
@api_view(["GET"])
@permission_classes([requires("monitoring.view_dashboards")])
def outcomes_api(request):
    """By month: the share of tox screens positive for the street heroin markers and
    for each other substance, among the screens that tested it; and by clinic."""
    numbers = _numbers(request, OUTCOMES)
    for row in numbers["rows"]:
        row["month"] = row["month"].strftime("%Y-%m")
    return Response(numbers)


@extend_schema(parameters=_range_parameters("27 days before"), responses={200: dict})
@api_view(["GET"])
@permission_classes([requires("monitoring.view_dashboards")])
def workload_api(request):
    """Now: occupancy against capacity, the waiting list, overdue reviews and tox
    screens, open alerts by kind. In the range: re-titrations by cause, withholds by
    reason, adverse events and naloxone. Each clinic and the total."""
    return Response(_numbers(request, WORKLOAD))
