"""API for clinic policy versions: ``GET policies/`` lists the caller's clinics'
versions (``?clinic=``), newest first; ``POST policies/`` issues a new version from a
stated time (managers). Values not given are carried from the version before."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets

from core.api import ActionPermissions, ActsThroughServices, LocalTimeField, StrictFieldsMixin

from .api import DoseSlotSerializer
from .models import ClinicPolicy
from .policy_rules import SlotSpec
from .selectors import clinic_named, clinics_in_scope
from .services import POLICY_FIELDS, policy_issue


class PolicySerializer(serializers.ModelSerializer):
    slots = DoseSlotSerializer(many=True, read_only=True)

    class Meta:
        model = ClinicPolicy
        fields = ["id", "clinic", "effective_from", *POLICY_FIELDS, "slots", "reason"]


class SlotInput(StrictFieldsMixin, serializers.Serializer):
    code = serializers.CharField(max_length=12)
    opens_at = LocalTimeField()
    closes_at = LocalTimeField()


class PolicyInput(StrictFieldsMixin, serializers.ModelSerializer):
    """A new version: when it starts, why, and any values that change."""

    clinic = serializers.IntegerField(
        required=False, help_text="Needed only by staff of more than one clinic."
    )
    slots = SlotInput(
        many=True, required=False, help_text="Every dose slot of the day (default: as before)."
    )

    class Meta:
        model = ClinicPolicy
        fields = ["clinic", "effective_from", *POLICY_FIELDS, "slots", "reason"]
        extra_kwargs = {
            **{name: {"required": False} for name in POLICY_FIELDS},
            "effective_from": {"required": True},
            "reason": {"required": True},
        }
        # The service checks the whole version; the serializer checks each value's type.
        validators: list = []


class PolicyViewSet(ActsThroughServices, viewsets.ReadOnlyModelViewSet):
    serializer_class = PolicySerializer
    queryset = ClinicPolicy.objects.none()  # for the schema; get_queryset scopes the caller
    permission_classes = [ActionPermissions]
    filterset_fields = ["clinic"]
    action_permissions = {
        "list": "eligibility.view_clinicpolicy",
        "retrieve": "eligibility.view_clinicpolicy",
        "create": "eligibility.add_clinicpolicy",
    }

    def get_queryset(self):
        return (
            ClinicPolicy.objects.filter(clinic__in=clinics_in_scope(self.request.user))
            .prefetch_related("slots")
            .order_by("clinic", "-effective_from")
        )

    @extend_schema(request=PolicyInput, responses={201: PolicySerializer})
    def create(self, request, *args, **kwargs):
        def issue(fields):
            clinic = clinic_named(request.user, fields.pop("clinic", None))
            slots = fields.pop("slots", None)
            return policy_issue(
                clinic=clinic,
                issued_by=request.user,
                effective_from=fields.pop("effective_from"),
                reason=fields.pop("reason"),
                slots=None if slots is None else [SlotSpec(**slot) for slot in slots],
                **fields,
            )

        return self.act(PolicyInput, issue, created=True)
