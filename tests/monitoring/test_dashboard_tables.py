"""The dashboards' typed read models (issue 17.5): each dashboard's rows are TypedDicts
(monitoring/dashboards/rows.py); one table builder (tables.py) makes the page's tables
and the CSVs from them; the API publishes a schema generated from the same types,
strict enough that an answer with a field added, lost, renamed or of another type
fails it."""

import copy
import datetime as dt
import re
from typing import TypedDict

import jsonschema
import pytest
from django.http import QueryDict

from eligibility.selectors import clinics_for_staff
from monitoring.dashboard_views import ATTENDANCE, OUTCOMES, RETENTION, WORKLOAD
from monitoring.dashboards import Filters
from monitoring.dashboards.schema import openapi_schema
from tests.monitoring.dashboard_schema import check, published_schema
from tests.monitoring.test_attendance import RANGE, history  # noqa: F401  (a fixture)

DASHBOARDS = (ATTENDANCE, RETENTION, OUTCOMES, WORKLOAD)
PATH = "/api/v1/dashboard/attendance/"


def test_an_answer_unlike_its_types_fails_the_published_schema(cast, history):  # noqa: F811
    client = cast.client("manager")
    schema = published_schema(client, PATH)
    answer = client.get(PATH, RANGE).json()
    check(answer, schema)  # as it is, it passes

    def broken(change):
        body = copy.deepcopy(answer)
        change(body)
        return body

    for wrong in [
        broken(lambda body: body["by_clinic"][0].update(surprise=1)),  # a field added
        broken(lambda body: body["totals"].pop("missed")),  # a field lost
        broken(lambda body: body["by_slot"][0].update(slot=body["by_slot"][0].pop("slot_code"))),
        broken(lambda body: body["by_period"][0].update(scheduled="4")),  # text for a number
        broken(lambda body: body["by_period"][0].update(period="09/02/2026")),  # not a date
        broken(lambda body: body["totals"].update(scheduled=None)),  # null where none may be
    ]:
        with pytest.raises(jsonschema.ValidationError):
            check(wrong, schema)
    adherence_unknown = broken(lambda body: body["totals"].update(adherence=None))
    check(adherence_unknown, schema)  # null where the type allows it


def test_each_dashboard_publishes_its_fields_not_a_bare_object(cast):
    client = cast.client("manager")
    fields = {
        "attendance": {"totals", "by_period", "by_slot", "by_service_user", "by_clinic"},
        "retention": {"as_of", "curve", "bands", "by_clinic", "total", "exits"},
        "outcomes": {"substances", "rows", "by_clinic"},
        "workload": {"by_clinic", "total", "alerts", "withholds", "retitrations", "away"},
    }
    for name, expected in fields.items():
        schema = published_schema(client, f"/api/v1/dashboard/{name}/")
        assert set(schema["properties"]) == expected, name
        assert schema["additionalProperties"] is False
    workload = published_schema(client, "/api/v1/dashboard/workload/")
    clinic_row = workload["properties"]["by_clinic"]["items"]
    assert clinic_row["properties"]["naloxone_mg"] == {"type": "number"}  # as DRF renders it
    assert "occupancy" in clinic_row["required"]


def test_one_table_builder_gives_the_page_and_the_csv_the_same_columns(cast, history):  # noqa: F811
    filters = Filters(
        clinics=clinics_for_staff(cast.manager),
        start=dt.date.fromisoformat(RANGE["from"]),
        end=dt.date.fromisoformat(RANGE["to"]),
    )
    params = QueryDict("period=day")
    for dashboard in DASHBOARDS:
        tables = dashboard.tables(dashboard.compute(filters, params), params)
        assert tables.exports() == list(dashboard.exports), dashboard.name
        for name, table in tables.by_name.items():
            full = tables[table.export]
            assert full.exported, f"{dashboard.name}: {name}'s CSV link names a page-only table"
            if table.columns is not full.columns and name != "months":
                # Shown with fewer columns: those of its CSV, the same objects.
                assert all(column in full.columns for column in table.columns), name
            assert {len(row) for row in full.csv_rows()} <= {len(full.header())}, name


def test_a_type_with_no_schema_is_refused_by_name():
    class Odd(TypedDict):
        when: dt.time

    with pytest.raises(TypeError, match=re.escape("No schema for <class 'datetime.time'>")):
        openapi_schema(Odd)
