"""The API's one place for turning domain errors into responses."""

from django.contrib.auth import get_backends
from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters import ModelChoiceFilter, ModelMultipleChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import RuleViolation, whole_number
from .roles import ACTING_IN


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


class ActsThroughServices:
    """The one way an API action, or a create, answers (a mixin for viewsets).

    ``act`` validates the body with the action's input serializer (a 400 naming each
    field at fault), calls the service with the validated fields (its refusal reaches
    ``exception_handler``: 400, or 409 for a conflict), and answers with the record the
    service returns, or ``answer`` (the dose session an assessment was recorded on), as
    this viewset reads it: the same scope, the same serializer (``answer_with`` for
    another), 201 when ``created``.
    """

    def act(self, input_class, call, *, answer=None, created=False, answer_with=None) -> Response:
        given = input_class(data=self.request.data, context=self.get_serializer_context())
        given.is_valid(raise_exception=True)
        record = call(dict(given.validated_data))
        record = record if answer is None else answer
        serializer = answer_with or self.get_serializer_class()
        answer = serializer(
            self.get_queryset().get(pk=record.pk), context=self.get_serializer_context()
        )
        return Response(
            answer.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


def act_where_held(user, permission: str) -> bool:
    """Whether the caller holds ``permission`` in a clinic of theirs; if so, the request
    acts from now on in the clinics where they hold it, so the records it reaches are
    those clinics' only (core.roles.ACTING_IN). The authentication backend that holds
    roles per clinic (settings.AUTHENTICATION_BACKENDS) says where; the API sits
    below the apps that know clinics."""
    for backend in get_backends():
        narrow = getattr(backend, "act_where_held", None)
        if narrow is not None:
            narrow(user, permission)
    return bool(user.has_perm(permission))


class ActionPermissions(BasePermission):
    """Each viewset action needs the permission named in ``view.action_permissions``.

    An action missing from the map is refused, so a new action cannot ship open.
    """

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if view.action is None:
            # No action for this method: let DRF answer 405 Method Not Allowed.
            return True
        permission = getattr(view, "action_permissions", {}).get(view.action)
        return permission is not None and act_where_held(request.user, permission)


def requires(permission: str) -> type[BasePermission]:
    """A permission class for a function view: signed in and holding `permission`."""

    class Requires(BasePermission):
        def has_permission(self, request, view):
            return bool(
                request.user
                and request.user.is_authenticated
                and act_where_held(request.user, permission)
            )

    Requires.__name__ = f"Requires({permission})"
    return Requires


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        "example": "08:00",
        "description": "A wall-clock time in the clinic's own time zone, not an instant.",
    }
)
class LocalTimeField(serializers.TimeField):
    """A dose slot's opening or closing time. OpenAPI's "time" format is RFC 3339's,
    which needs an offset; a slot's time has none (it is the clinic's local time)."""


class StrictFieldsMixin:
    """Refuse fields the serializer does not know, instead of silently ignoring them:
    a misspelt ``topup_max_mg`` must not become "no top-up"."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: ["Unknown field: check its spelling against the schema."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


# The API's bodies are a few levels deep (an assessment's answers are the deepest, at
# three); anything much deeper is garbage, and code that walks it could recurse out.
MAX_JSON_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing with a 400 a body nested too deeply: 5,000 levels
    make Python's decoder raise RecursionError (a 500 otherwise), and a body deeper
    than MAX_JSON_DEPTH is refused before any code walks it."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError("JSON parse error - nested too deeply.") from error
        if _depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        return data


def _depth(data) -> int:
    """How deeply lists and objects nest, counted without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                children = value.values() if isinstance(value, dict) else value
                stack.extend((child, depth + 1) for child in children)
    return deepest


def _in_callers_clinics(queryset, user):
    """The rows of a filter's choices that belong to the caller's clinics, and to the
    clinics the request acts in where that is set (core.roles.ACTING_IN)."""
    model = queryset.model
    if model._meta.label == "eligibility.Clinic":
        path = ""
    else:
        fields = {field.name for field in model._meta.get_fields()}
        paths = ("clinic", "service_user__clinic", "section__clinic")
        path = next((p + "__" for p in paths if p.split("__")[0] in fields), None)
        if path is None:
            return queryset.none()  # a model with no clinic: nothing to choose, rather than a leak
    mine = queryset.filter(
        **{
            f"{path}memberships__user": user,
            f"{path}memberships__deactivated_at__isnull": True,
        }
    )
    acting_in = getattr(user, ACTING_IN, None)
    if acting_in is not None:
        mine = mine.filter(**{f"{path}pk__in": acting_in})
    return mine.distinct()


class ScopedFilterBackend(DjangoFilterBackend):
    """django-filter, with every "choose a record" filter limited to the caller's
    clinics (issue 16.4). Its choices would otherwise be every row in the installation,
    so ?service_user=<another clinic's id> answered an empty list where an unknown id
    answered 400: a way to tell which ids exist. Now both are the same 400."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        for name, found in filterset.filters.items():
            if getattr(found, "scoped_by_its_queryset", False):
                continue  # its queryset is the caller's already (a guest at their clinic)
            if isinstance(found, ModelChoiceFilter | ModelMultipleChoiceFilter):
                choices = found.get_queryset(request)
                filterset.filters[name].queryset = _in_callers_clinics(choices, request.user)
        return filterset


def query_number(
    request,
    name: str,
    *,
    message: str,
    code: str,
    required: bool = True,
    maximum: int = 2**31 - 1,
) -> int | None:
    """A whole number from 1 in the query string (``?service_user=12``), or a 400
    naming the parameter with what to give: never a ValueError. None when it is
    optional and absent."""
    given = request.query_params.get(name, "")
    if not given and not required:
        return None
    try:
        return whole_number(given, field=name, minimum=1, maximum=maximum)
    except RuleViolation as refusal:
        raise RuleViolation(message, code=code, field=name) from refusal
