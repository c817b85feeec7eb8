"""alerts/ and the monitoring records (tox-screens/, breath-tests/,
methadone-collections/) through the API, with the same services as the browser."""

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action

from alerts.models import Alert, AlertKind
from alerts.selectors import alerts_for_staff
from alerts.services import alert_acknowledge
from core.api import ActionPermissions, ActsThroughServices, StrictFieldsMixin
from core.errors import RuleViolation
from dosing.breath import breath_test_record
from dosing.models import BreathTest
from eligibility.models import IntegrationToken, normalise_nhs_number
from eligibility.selectors import service_user_in_scope, service_users_for_staff
from eligibility.settling import SettledReads

from .models import MethadoneCollection, Substance, ToxResult, ToxScreen
from .records import methadone_collection_record, tox_screen_record
from .selectors import (
    breath_tests_for_staff,
    methadone_collections_for_staff,
    tox_screens_for_staff,
)


class AlertSerializer(serializers.ModelSerializer):
    severity = serializers.CharField(source="get_severity_display", read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "severity",
            "clinic",
            "service_user",
            "session",
            "cause_key",
            "detail",
            "created_at",
            "is_open",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledgement_note",
        ]
        read_only_fields = fields


class AcknowledgeInput(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(help_text="What was done about the alert.")


class AlertFilter(django_filters.FilterSet):
    open = django_filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", label="Open alerts only (true)"
    )
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)

    class Meta:
        model = Alert
        fields = ["open", "kind", "clinic", "service_user"]


class AlertViewSet(
    ActsThroughServices,
    SettledReads,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Alerts of the caller's clinics, most severe first; ?open=true for open ones."""

    serializer_class = AlertSerializer
    permission_classes = [ActionPermissions]
    filterset_class = AlertFilter
    action_permissions = {
        "list": "alerts.view_alert",
        "retrieve": "alerts.view_alert",
        "acknowledge": "alerts.acknowledge_alert",
    }

    def get_queryset(self):
        return alerts_for_staff(self.request.user)

    @extend_schema(request=AcknowledgeInput, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Close the alert with a note. 409 if someone acknowledged it first."""
        alert = self.get_object()
        return self.act(
            AcknowledgeInput,
            lambda fields: alert_acknowledge(alert=alert, by=request.user, note=fields["note"]),
        )


class _RecordViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Monitoring records: listed and read by the clinic's staff, added, never edited."""

    permission_classes = [ActionPermissions]
    input_class: type[serializers.Serializer]

    def _person(self, service_user_id):
        return service_user_in_scope(self.request.user, pk=service_user_id)


class ToxScreenSerializer(serializers.ModelSerializer):
    results = serializers.SerializerMethodField()

    class Meta:
        model = ToxScreen
        fields = [
            "id",
            "service_user",
            "sample_date",
            "results",
            "street_heroin",
            "notes",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.DictField(child=serializers.ChoiceField(choices=ToxResult.choices))
    )
    def get_results(self, screen):
        return {r.substance: r.result for r in screen.results.all()}


class ToxScreenInput(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    sample_date = serializers.DateField()
    results = serializers.DictField(
        child=serializers.ChoiceField(choices=ToxResult.choices),
        help_text="Result per substance; those left out are not_tested. Substances: "
        + ", ".join(Substance.values),
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class ToxScreenViewSet(_RecordViewSet):
    """Urine tox screens, a result per substance on docs/domain.md's panel."""

    serializer_class = ToxScreenSerializer
    filterset_fields = ["service_user", "sample_date", "street_heroin"]
    action_permissions = {
        "list": "monitoring.view_toxscreen",
        "retrieve": "monitoring.view_toxscreen",
        "create": "monitoring.add_toxscreen",
    }

    def get_queryset(self):
        return tox_screens_for_staff(self.request.user)

    @extend_schema(request=ToxScreenInput, responses={201: ToxScreenSerializer})
    def create(self, request, *args, **kwargs):
        return self.act(
            ToxScreenInput,
            lambda fields: tox_screen_record(
                service_user=self._person(fields.pop("service_user")),
                recorded_by=request.user,
                **fields,
            ),
            created=True,
        )


class BreathTestSerializer(serializers.ModelSerializer):
    class Meta:
        model = BreathTest
        fields = [
            "id",
            "service_user",
            "session",
            "taken_at",
            "clinic_day",
            "reading_mcg_per_100ml",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class BreathTestInput(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    reading_mcg_per_100ml = serializers.CharField(help_text='µg/100 ml breath, e.g. "12.5".')
    taken_at = serializers.DateTimeField(required=False, allow_null=True)


class BreathTestViewSet(_RecordViewSet):
    """Breath alcohol readings. Those taken at a pre-dose check name their session;
    record those through dose-sessions/{id}/assess/."""

    serializer_class = BreathTestSerializer
    filterset_fields = ["service_user", "clinic_day", "session"]
    action_permissions = {
        "list": "dosing.view_breathtest",
        "retrieve": "dosing.view_breathtest",
        "create": "dosing.add_breathtest",
    }

    def get_queryset(self):
        return breath_tests_for_staff(self.request.user)

    @extend_schema(request=BreathTestInput, responses={201: BreathTestSerializer})
    def create(self, request, *args, **kwargs):
        return self.act(
            BreathTestInput,
            lambda fields: breath_test_record(
                service_user=self._person(fields["service_user"]),
                recorded_by=request.user,
                reading=fields["reading_mcg_per_100ml"],
                taken_at=fields.get("taken_at"),
            ),
            created=True,
        )


class MethadoneCollectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = MethadoneCollection
        fields = [
            "id",
            "service_user",
            "pharmacy",
            "day",
            "collected",
            "note",
            "source",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class MethadoneCollectionInput(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField(
        required=False, help_text="The service user's id; or give nhs_number instead."
    )
    nhs_number = serializers.CharField(required=False, help_text="Instead of service_user.")
    day = serializers.DateField()
    collected = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if ("service_user" in attrs) == ("nhs_number" in attrs):
            raise serializers.ValidationError(
                {"service_user": ["Give either service_user or nhs_number, not both."]}
            )
        return attrs


class MethadoneCollectionViewSet(_RecordViewSet):
    """Methadone collected or not, per service user and day. A pharmacy integration
    reports with its token; a second report for the same day replaces the first
    (200 instead of 201), and the history keeps both."""

    serializer_class = MethadoneCollectionSerializer
    filterset_fields = ["service_user", "day", "collected", "pharmacy"]
    action_permissions = {
        "list": "monitoring.view_methadonecollection",
        "retrieve": "monitoring.view_methadonecollection",
        "create": "monitoring.add_methadonecollection",
    }

    def get_queryset(self):
        records = methadone_collections_for_staff(self.request.user)
        token = self._token()
        if token is not None:  # a pharmacy sees only what it dispensed
            records = records.filter(pharmacy_id=token.pharmacy_id)
        return records

    def _token(self) -> IntegrationToken | None:
        auth = self.request.auth
        return auth if isinstance(auth, IntegrationToken) else None

    @extend_schema(
        request=MethadoneCollectionInput,
        responses={
            201: MethadoneCollectionSerializer,
            200: MethadoneCollectionSerializer,
            409: OpenApiResponse(
                description="A pharmacy's report that disagrees with the clinic's record of "
                "the day: kept beside it, and the clinic is alerted."
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        created = []

        def record(fields):
            person = self._person_named(
                fields.pop("nhs_number", None), fields.pop("service_user", None)
            )
            token = self._token()
            if token is not None and token.pharmacy_id is None:
                raise Http404  # issued before tokens named their pharmacy: it reaches nobody
            saved, is_new = methadone_collection_record(
                service_user=person,
                recorded_by=request.user,
                reporting_pharmacy=token.pharmacy if token is not None else None,
                **fields,
            )
            created.append(is_new)
            return saved

        answer = self.act(MethadoneCollectionInput, record)
        if created[0]:  # a first report of the day; a repeat of one answers 200
            answer.status_code = status.HTTP_201_CREATED
        return answer

    def _person_named(self, nhs_number, service_user_id):
        """Who the request names, among the caller's clinics' service users. An NHS
        number is unique within a clinic, so staff of two clinics may find it twice."""
        people = service_users_for_staff(self.request.user)
        if service_user_id is not None:
            people = people.filter(pk=service_user_id)
        else:
            people = people.filter(nhs_number=self._nhs_number(nhs_number))
        found = list(people[:2])
        if not found:
            raise Http404  # one nameless answer, whoever is asked for and whyever
        if len(found) > 1:
            raise RuleViolation(
                "This NHS number is registered at more than one of your clinics: name the "
                "service user by service_user instead.",
                code="nhs_number_ambiguous",
                field="nhs_number",
            )
        return found[0]

    @staticmethod
    def _nhs_number(value):
        number = normalise_nhs_number(value)
        if len(number) != 10 or not number.isdigit():
            raise RuleViolation(
                "Give the NHS number as 10 digits.", code="nhs_number_invalid", field="nhs_number"
            )
        return number
