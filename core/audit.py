"""Who changed a record and why, for its history (docs/audit.md says which kind of
record keeps what).

django-simple-history writes a historical row per save(); ``audited`` says, before
that save, who makes it and why. A scan that changes thousands of rows with one
UPDATE records them with ``history_snapshot``, in one statement, so that no change
goes unrecorded and the query count stays fixed.
"""

import datetime as dt
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet

_Record = TypeVar("_Record", bound=Model)

HISTORY_COLUMNS = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user_id",
}


def audited(record: _Record, *, by: Any, why: str | None = None) -> _Record:
    """Mark the next save of this record as made by ``by`` (None: the system) for
    ``why``, for the historical row django-simple-history writes. The one place that
    sets simple-history's private attributes. Returns the record."""
    record._history_user = by  # type: ignore[attr-defined]
    if why is not None:
        record._change_reason = why  # type: ignore[attr-defined]
    return record


def history_snapshot(
    queryset: QuerySet[Any], *, reason: str, when: dt.datetime, user: Any = None
) -> int:
    """Record the rows of queryset, as they now are, as a change by user (None: the
    system) for reason. Returns the number of historical rows written."""
    model = queryset.model
    historical = model.history.model
    fields = [f for f in historical._meta.concrete_fields if f.attname not in HISTORY_COLUMNS]
    source_sql, params = (
        queryset.order_by().values(*[f.attname for f in fields]).query.sql_with_params()
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    selected = ", ".join(f"src.{quote(f.column)}" for f in fields)
    sql = (
        f"INSERT INTO {quote(historical._meta.db_table)} "
        f"({columns}, history_date, history_change_reason, history_type, history_user_id) "
        f"SELECT {selected}, %s, %s, '~', %s FROM ({source_sql}) src"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                connection.ops.adapt_datetimefield_value(when),
                reason,
                user.pk if user is not None else None,
                *params,
            ],
        )
        return cursor.rowcount  # type: ignore[no-any-return]
