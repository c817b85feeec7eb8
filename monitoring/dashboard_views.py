"""The managers' dashboards in the browser (a chart, and the same numbers as tables,
each exportable as CSV with the filters applied) and through the API
(dashboard/attendance/, retention/, outcomes/, workload/). Each dashboard is
described once (ATTENDANCE, RETENTION, OUTCOMES, WORKLOAD); its page, CSV and API
are made from that."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from eligibility.selectors import dashboard_clinics

from .dashboards import (
    COLUMNS,
    PERIODS,
    Filters,
    attendance,
    outcomes,
    retention,
    workload,
)
from .dashboards.rows import Attendance, Outcomes, Retention, ServiceUserCounts, Workload
from .dashboards.schema import openapi_schema
from .dashboards.tables import (
    Tables,
    attendance_tables,
    outcomes_tables,
    retention_tables,
    workload_tables,
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
    (the last 28 days by default). Another clinic is a 404. The caller's clinics are
    those where they may see the dashboards, whichever clinic the page acts in: a
    manager of several compares them."""
    clinics = dashboard_clinics(request.user)
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


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: how to compute its numbers (of the type `numbers`, rows.py)
    from the filters and the query string, the data for its chart, and its tables
    for the page and the CSV (tables.py). `exports` names the tables that download
    as CSV."""

    name: str
    default_days: int
    numbers: type
    compute: Callable[[Filters, dict], Any]
    chart: Callable[[Any], dict]
    tables: Callable[[Any, dict], Tables]
    exports: tuple[str, ...]
    context: Callable[[dict], dict] = lambda params: {}
    # What the page shows of its tables, when that is less than all of them.
    shown: Callable[[Tables], dict] = lambda tables: {}


def _people_shown(numbers: Attendance) -> list[ServiceUserCounts]:
    return sorted(
        numbers["by_service_user"],
        key=lambda row: (row["adherence"] is None, row["adherence"] or 0, row["name"]),
    )[:PEOPLE_SHOWN]


ATTENDANCE = Dashboard(
    name="attendance",
    default_days=DEFAULT_DAYS,
    numbers=Attendance,
    compute=lambda filters, params: attendance(filters, period=_period(params)),
    chart=lambda numbers: {
        "labels": [row["period"].isoformat() for row in numbers["by_period"]],
        "series": {name: [row[name] for row in numbers["by_period"]] for name in COLUMNS[1:]},
    },
    tables=lambda numbers, params: attendance_tables(
        numbers, period=_period(params), people_shown=_people_shown(numbers)
    ),
    exports=("period", "slot", "service_user", "clinic"),
    context=lambda params: {"period": _period(params)},
    shown=lambda tables: {"people_shown": tables["people_shown"].rows},
)

RETENTION = Dashboard(
    name="retention",
    default_days=2 * 365,
    numbers=Retention,
    compute=lambda filters, params: retention(filters),
    chart=lambda numbers: {
        "labels": [point["week"] for point in numbers["curve"]],
        "retained": [point["retained"] for point in numbers["curve"]],
    },
    tables=lambda numbers, params: retention_tables(numbers),
    exports=("curve", "time_in_treatment", "clinic", "exits"),
)


def _outcomes_chart(numbers: Outcomes) -> dict:
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
    numbers=Outcomes,
    compute=lambda filters, params: outcomes(filters),
    chart=_outcomes_chart,
    tables=lambda numbers, params: outcomes_tables(numbers),
    exports=("month", "clinic"),
)

WORKLOAD = Dashboard(
    name="workload",
    default_days=DEFAULT_DAYS,
    numbers=Workload,
    compute=lambda filters, params: workload(filters),
    chart=lambda numbers: {
        "labels": [row["name"] for row in numbers["by_clinic"]],
        "series": {
            name: [row[name] for row in numbers["by_clinic"]]
            for name in ["taken", "offered", "free"]
        },
    },
    tables=lambda numbers, params: workload_tables(numbers),
    exports=("clinic", "alerts", "retitrations", "withholds", "away"),
)


def _page(request, dashboard: Dashboard):
    template = f"monitoring/{dashboard.name}.html"
    try:
        export = request.GET.get("export")
        if export and export not in dashboard.exports:
            raise RuleViolation(
                f"There is no table '{export}' to export; choose one of: "
                + ", ".join(dashboard.exports)
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
                "clinics": dashboard_clinics(request.user),
                "dashboard_tabs": TABS,
            },
            status=400,
        )
    tables = dashboard.tables(numbers, request.GET)
    if export:
        access_record(request, What.CSV_EXPORT, export=f"{dashboard.name} by {export}")
        table = tables[export]
        return csv_response(
            f"{dashboard.name}-by-{export}-{filters.start}-{filters.end}.csv",
            table.header(),
            table.csv_rows(),
        )
    return render(
        request,
        template,
        {
            "numbers": numbers,
            "tables": tables,
            "filters": filters,
            "clinics": dashboard_clinics(request.user),
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
            **dashboard.shown(tables),
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
    responses={200: openapi_schema(Attendance)},
)
@api_view(["GET"])
@permission_classes([requires("monitoring.view_dashboards")])
def attendance_api(request):
    """Sessions scheduled against each outcome: totals, by period, by slot, by
    service user with adherence (administered as a share of scheduled, less excused
    and still open), and by clinic."""
    return Response(_numbers(request, ATTENDANCE))


@extend_schema(
    parameters=_range_parameters("two years before"),
    responses={200: openapi_schema(Retention)},
)
@api_view(["GET"])
@permission_classes([requires("monitoring.view_dashboards")])
def retention_api(request):
    """Treatment episodes admitted in the range, followed to its end: the
    Kaplan-Meier retention curve by weeks since admission (people still in treatment
    censored), time in treatment, each clinic and the total, and exits by kind."""
    return Response(_numbers(request, RETENTION))


@extend_schema(
    parameters=_range_parameters("a year before"), responses={200: openapi_schema(Outcomes)}
)
@api_view(["GET"])
@permission_classes([requires("monitoring.view_dashboards")])
def outcomes_api(request):
    """By month: the share of tox screens positive for the street heroin markers and
    for each other substance, among the screens that tested it; and by clinic."""
    numbers = _numbers(request, OUTCOMES)
    for row in numbers["rows"]:
        row["month"] = row["month"].strftime("%Y-%m")
    return Response(numbers)


@extend_schema(
    parameters=_range_parameters("27 days before"), responses={200: openapi_schema(Workload)}
)
@api_view(["GET"])
@permission_classes([requires("monitoring.view_dashboards")])
def workload_api(request):
    """Now: occupancy against capacity, the waiting list, overdue reviews and tox
    screens, open alerts by kind. In the range: re-titrations by cause, withholds by
    reason, adverse events and naloxone. Each clinic and the total."""
    return Response(_numbers(request, WORKLOAD))
