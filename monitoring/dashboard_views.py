"""The attendance dashboard in the browser (a chart and the same numbers as tables,
each exportable as CSV) and through the API (dashboard/attendance/)."""

import datetime as dt

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from eligibility.selectors import clinics_for_staff
from hat_clinic.csv_export import csv_response
from hat_clinic.errors import RuleViolation

from .dashboards import COLUMNS, PERIODS, Filters, attendance, outcomes

DEFAULT_DAYS = 28
MAX_DAYS = 3 * 366


def dashboard_filters(request, params, *, default_days: int = DEFAULT_DAYS) -> Filters:
    """?from=&to=&clinic=: the caller's clinics (all, or one), and a date range
    (the last 28 days by default). Another clinic is a 404."""
    clinics = clinics_for_staff(request.user)
    if params.get("clinic"):
        try:
            clinic_id = int(params["clinic"])
        except ValueError as error:
            raise RuleViolation(
                "clinic is a number.", code="clinic_invalid", field="clinic"
            ) from error
        clinics = clinics.filter(pk=clinic_id)
        if not clinics.exists():
            raise NotFound("No such clinic.")
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


def _date(value, field):
    if not value:
        return None
    try:
        day = parse_date(value)
    except ValueError:  # well formed but no such date, e.g. 2026-13-01
        day = None
    if day is None:
        raise RuleViolation(f"Give '{field}' as YYYY-MM-DD.", code="date_invalid", field=field)
    return day


def _period(params):
    period = params.get("period") or "week"
    if period not in PERIODS:
        raise RuleViolation("period is day, week or month.", code="period_invalid", field="period")
    return period


TABLES = {
    "period": ("by_period", "period"),
    "slot": ("by_slot", "slot_code"),
    "service_user": ("by_service_user", "name"),
}


@permission_required("monitoring.view_dashboards", raise_exception=True)
def attendance_page(request):
    try:
        filters = dashboard_filters(request, request.GET)
        period = _period(request.GET)
    except RuleViolation as refusal:
        return render(request, "monitoring/attendance.html", {"error": refusal.message}, status=400)
    numbers = attendance(filters, period=period)
    export = request.GET.get("export")
    if export in TABLES:
        return _csv(numbers, export, filters)
    return render(
        request,
        "monitoring/attendance.html",
        {
            "numbers": numbers,
            "filters": filters,
            "period": period,
            "columns": COLUMNS,
            "clinics": clinics_for_staff(request.user),
            "chart": {
                "labels": [row["period"].isoformat() for row in numbers["by_period"]],
                "series": {
                    name: [row[name] for row in numbers["by_period"]] for name in COLUMNS[1:]
                },
            },
            "query": request.GET.urlencode(),
        },
    )


def _csv(numbers, table, filters):
    key, label = TABLES[table]
    return csv_response(
        f"attendance-by-{table}-{filters.start}-{filters.end}.csv",
        [table, *COLUMNS, "adherence %"],
        (
            [row[label], *(row[c] for c in COLUMNS), _blank_if_none(row["adherence"])]
            for row in numbers[key]
        ),
    )


def _blank_if_none(value):
    return "" if value is None else value


class CanViewDashboards(BasePermission):
    def has_permission(self, request, view):
        return bool(
            request.user
            and request.user.is_authenticated
            and request.user.has_perm("monitoring.view_dashboards")
        )


@extend_schema(
    parameters=[
        OpenApiParameter("from", str, description="YYYY-MM-DD (default: 27 days before 'to')"),
        OpenApiParameter("to", str, description="YYYY-MM-DD (default: today)"),
        OpenApiParameter("clinic", int, description="One of the caller's clinics (default: all)"),
        OpenApiParameter("period", str, enum=list(PERIODS), description="default: week"),
    ],
    responses={200: dict},
)
@api_view(["GET"])
@permission_classes([CanViewDashboards])
def attendance_api(request):
    """Sessions scheduled against each outcome: totals, by period, by slot and by
    service user with adherence (administered as a share of scheduled, less excused
    and still open)."""
    numbers = attendance(
        dashboard_filters(request, request.query_params), period=_period(request.query_params)
    )
    for row in numbers["by_period"]:
        row["period"] = row["period"].isoformat()
    return Response(numbers)


@permission_required("monitoring.view_dashboards", raise_exception=True)
def outcomes_page(request):
    try:
        filters = dashboard_filters(request, request.GET, default_days=365)
    except RuleViolation as refusal:
        return render(request, "monitoring/outcomes.html", {"error": refusal.message}, status=400)
    numbers = outcomes(filters)
    if request.GET.get("export") == "csv":
        return csv_response(
            f"outcomes-{filters.start}-{filters.end}.csv",
            ["month", "substance", "positive", "tested", "positive %"],
            (
                [
                    row["month"].strftime("%Y-%m"),
                    numbers["substances"][cell["substance"]],
                    cell["positive"],
                    cell["tested"],
                    _blank_if_none(cell["percent"]),
                ]
                for row in numbers["rows"]
                for cell in row["cells"]
            ),
        )
    return render(
        request,
        "monitoring/outcomes.html",
        {
            "numbers": numbers,
            "filters": filters,
            "clinics": clinics_for_staff(request.user),
            "query": request.GET.urlencode(),
            "chart": {
                "labels": [row["month"].strftime("%Y-%m") for row in numbers["rows"]],
                "series": {
                    numbers["substances"][code]: [
                        next(c["percent"] for c in row["cells"] if c["substance"] == code)
                        for row in numbers["rows"]
                    ]
                    for code in numbers["substances"]
                },
            },
        },
    )


@extend_schema(
    parameters=[
        OpenApiParameter("from", str, description="YYYY-MM-DD (default: a year before 'to')"),
        OpenApiParameter("to", str, description="YYYY-MM-DD (default: today)"),
        OpenApiParameter("clinic", int, description="One of the caller's clinics (default: all)"),
    ],
    responses={200: dict},
)
@api_view(["GET"])
@permission_classes([CanViewDashboards])
def outcomes_api(request):
    """By month: the share of tox screens positive for the street heroin markers and
    for each other substance, among the screens that tested it."""
    numbers = outcomes(dashboard_filters(request, request.query_params, default_days=365))
    for row in numbers["rows"]:
        row["month"] = row["month"].strftime("%Y-%m")
    return Response(numbers)
