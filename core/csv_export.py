"""CSV downloads: the register's pages and the dashboards' tables.

Every cell goes through :func:`neutralise`, so text that staff or anyone else typed
(a note, a supplier, a clinic or service user's name) is never run as a spreadsheet
formula when a manager opens the file (OWASP "CSV injection").
"""

import csv
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse

# A spreadsheet reads a cell starting with one of these as a formula, or as a
# separator that starts one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, made inert with a leading quote.

    Numbers are left as they are: -5 is a number, not a formula, and a text cell only
    ever holds what someone typed.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([neutralise(cell) for cell in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return response
