"""alerts/: the alert inbox through the API, with the same service as the browser."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from hat_clinic.api import ActionPermissions, StrictFieldsMixin

from .alerts import alert_acknowledge
from .models import Alert, AlertKind
from .selectors import alerts_for_staff


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


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts of the caller's clinics, most severe first; ?open=true for open ones."""

    serializer_class = AlertSerializer
    permission_classes = [ActionPermissions]
    filterset_class = AlertFilter
    action_permissions = {
        "list": "monitoring.view_alert",
        "retrieve": "monitoring.view_alert",
        "acknowledge": "monitoring.acknowledge_alert",
    }

    def get_queryset(self):
        return alerts_for_staff(self.request.user)

    @extend_schema(request=AcknowledgeInput, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Close the alert with a note. 409 if someone acknowledged it first."""
        alert = self.get_object()
        data = AcknowledgeInput(data=request.data)
        data.is_valid(raise_exception=True)
        alert_acknowledge(alert=alert, by=request.user, note=data.validated_data["note"])
        return Response(AlertSerializer(self.get_queryset().get(pk=alert.pk)).data)
