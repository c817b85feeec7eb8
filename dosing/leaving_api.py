"""suspensions/ and exits/: suspension and exit through the API, same services as the
browser."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from core.api import ActionPermissions, ActsThroughServices, StrictFieldsMixin
from eligibility.selectors import for_staff, service_user_in_scope

from .leaving import service_user_exit, suspension_end, suspension_start
from .models import Exit, ExitDetail, ExitKind, Suspension


class SuspensionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Suspension
        fields = [
            "id",
            "service_user",
            "kind",
            "starts_on",
            "expected_end_on",
            "reason",
            "status_before",
            "recorded_by",
            "recorded_at",
            "returned_on",
            "opioid_cover_confirmed",
            "sessions_missed",
            "ended_by",
            "ended_at",
        ]
        read_only_fields = fields


class SuspensionInput(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Suspension.Kind.choices)
    starts_on = serializers.DateField()
    expected_end_on = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField()


class SuspensionEndInput(StrictFieldsMixin, serializers.Serializer):
    returned_on = serializers.DateField()
    opioid_cover_confirmed = serializers.BooleanField(
        default=False, help_text="Prescribers only: opioid cover for the whole time."
    )


class SuspensionViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Suspensions (hospital, custody). POST suspensions/{id}/end/ records the return."""

    serializer_class = SuspensionSerializer
    permission_classes = [ActionPermissions]
    filterset_fields = ["service_user", "kind"]
    action_permissions = {
        "list": "dosing.view_suspension",
        "retrieve": "dosing.view_suspension",
        "create": "dosing.add_suspension",
        "end": "dosing.change_suspension",
    }

    def get_queryset(self):
        return for_staff(Suspension.objects, self.request.user, clinic="service_user__clinic")

    @extend_schema(request=SuspensionInput, responses={201: SuspensionSerializer})
    def create(self, request, *args, **kwargs):
        return self.act(
            SuspensionInput,
            lambda fields: suspension_start(
                service_user=service_user_in_scope(request.user, pk=fields.pop("service_user")),
                recorded_by=request.user,
                **fields,
            ),
            created=True,
        )

    @extend_schema(request=SuspensionEndInput, responses={200: SuspensionSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        suspension = self.get_object()
        return self.act(
            SuspensionEndInput,
            lambda fields: suspension_end(suspension=suspension, ended_by=request.user, **fields),
            answer=suspension,
        )


class ExitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Exit
        fields = [
            "id",
            "service_user",
            "kind",
            "detail",
            "reason",
            "exited_on",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class ExitInput(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ExitKind.choices)
    detail = serializers.ChoiceField(choices=ExitDetail.choices)
    reason = serializers.CharField()
    exited_on = serializers.DateField()


class ExitViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Exits from treatment: planned, unplanned or service closure, with the reason."""

    serializer_class = ExitSerializer
    permission_classes = [ActionPermissions]
    filterset_fields = ["service_user", "kind", "detail"]
    action_permissions = {
        "list": "dosing.view_exit",
        "retrieve": "dosing.view_exit",
        "create": "dosing.add_exit",
    }

    def get_queryset(self):
        return for_staff(Exit.objects, self.request.user, clinic="service_user__clinic")

    @extend_schema(request=ExitInput, responses={201: ExitSerializer})
    def create(self, request, *args, **kwargs):
        return self.act(
            ExitInput,
            lambda fields: service_user_exit(
                service_user=service_user_in_scope(request.user, pk=fields.pop("service_user")),
                recorded_by=request.user,
                **fields,
            ),
            created=True,
        )
