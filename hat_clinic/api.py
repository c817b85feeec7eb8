"""The API's one place for turning domain errors into responses."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from hat_clinic.errors import RuleViolation


def exception_handler(exc, context):
    """A rule refusal is a 400 (or 409 for a conflict) carrying the same message the
    browser shows; a model ValidationError is a 400 with field errors."""
    if isinstance(exc, RuleViolation):
        body = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response(as_serializer_error(exc), status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
