"""Numbering and inserting a new version of a prescription (diamorphine, methadone or
take-home): the next number, and an insert that a race between two prescribers turns
into a clear 409, not two versions of one number."""

from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Manager, Max, Model, QuerySet

from core.errors import Conflict

_Version = TypeVar("_Version", bound=Model)


def next_version(versions: "QuerySet[Any] | Manager[Any]") -> int:
    return (versions.aggregate(v=Max("version"))["v"] or 0) + 1


def create_version(model: type[_Version], **fields: Any) -> _Version:
    """Insert a version; the unique (service user, version) constraint decides a race."""
    try:
        with transaction.atomic():
            return model.objects.create(**fields)  # type: ignore[attr-defined, no-any-return]
    except IntegrityError as error:
        raise Conflict(
            "Another prescription for this person was just issued. Reload and "
            "check it before issuing another.",
            code="prescription_race",
        ) from error
