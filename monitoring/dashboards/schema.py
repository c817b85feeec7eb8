"""The OpenAPI schema of a dashboard's answer, generated from its typed rows (rows.py).

drf-spectacular documents serializers; the dashboards answer with their numbers as
computed, so their schema is made here from the same TypedDicts the functions
return. Every object lists all its properties as required and allows no others, so a
test that checks an answer against the schema catches a field added, lost or renamed
on either side. Types map as the API renders them: a date as YYYY-MM-DD, a Month as
YYYY-MM, a Decimal as a JSON number (DRF's encoder).
"""

import datetime as dt
import types
import typing
from decimal import Decimal
from typing import Any

from .rows import Month

NUMBERS = {int: "integer", float: "number", Decimal: "number"}


def openapi_schema(hint: Any) -> dict[str, Any]:
    """The OpenAPI 3.0 schema of a value of this type."""
    if hint is Month:
        return {"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-03"}
    if hint is dt.date:
        return {"type": "string", "format": "date"}
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint in NUMBERS:
        return {"type": NUMBERS[hint]}
    if typing.is_typeddict(hint):
        fields = typing.get_type_hints(hint)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: openapi_schema(field) for name, field in fields.items()},
            "required": list(fields),
            "additionalProperties": False,
        }
        if hint.__doc__:
            schema["description"] = " ".join(hint.__doc__.split())
        return schema
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return {"type": "array", "items": openapi_schema(args[0])}
    if origin is dict:
        # Keys are strings in JSON whatever they are here (retention's weeks).
        return {"type": "object", "additionalProperties": openapi_schema(args[1])}
    if origin in (typing.Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        if all(arg in NUMBERS for arg in present):
            kinds = {NUMBERS[arg] for arg in present}
            schema = {"type": "integer" if kinds == {"integer"} else "number"}
        elif len(present) == 1:
            schema = openapi_schema(present[0])
        else:
            raise TypeError(f"No schema for the union {hint!r}.")
        if len(present) < len(args):
            schema["nullable"] = True
        return schema
    raise TypeError(f"No schema for {hint!r}: add it to monitoring/dashboards/schema.py.")
