"""API for prescriptions: read by the clinic's staff, issued by prescribers, never edited."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from core.api import ActionPermissions, ActsThroughServices, StrictFieldsMixin
from eligibility.selectors import service_user_in_scope

from .models import MethadonePrescription, Pharmacy, Prescription, Review, ReviewDecision, Route
from .prescribing import methadone_prescribe, prescription_cancel, prescription_issue
from .reviews import review_record
from .selectors import (
    methadone_prescriptions_for_staff,
    prescriptions_for_staff,
    reviews_for_staff,
)


class PrescriptionSerializer(serializers.ModelSerializer):
    slot_doses = serializers.SerializerMethodField()
    routes = serializers.ListField(
        child=serializers.ChoiceField(choices=Route.choices), read_only=True
    )
    prescriber_name = serializers.CharField(source="prescriber.get_full_name", read_only=True)
    cancelled = serializers.SerializerMethodField()
    plan = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Prescription
        fields = [
            "id",
            "service_user",
            "version",
            "purpose",
            "drug",
            "slot_doses",
            "routes",
            "topup_max_mg",
            "max_daily_total_mg",
            "valid_from",
            "valid_to",
            "documented_transfer",
            "transfer_service",
            "transfer_last_dose_mg",
            "transfer_last_dose_on",
            "transfer_confirmed_by",
            "prescriber",
            "prescriber_name",
            "reason",
            "clinical_reason",
            "caution",
            "issued_at",
            "plan",
            "cancelled",
        ]
        read_only_fields = fields

    def get_cancelled(self, prescription) -> bool:
        return hasattr(prescription, "cancellation")

    @extend_schema_field(
        serializers.DictField(child=serializers.DecimalField(max_digits=7, decimal_places=2))
    )
    def get_slot_doses(self, prescription):
        return {d.slot_code: f"{d.dose_mg:.2f}" for d in prescription.slot_doses.all()}


class PrescriptionIssueSerializer(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    slot_doses = serializers.DictField(
        child=serializers.CharField(), help_text='Dose per slot in mg, e.g. {"AM": "30.00"}.'
    )
    routes = serializers.MultipleChoiceField(choices=Route.choices, default=["iv"])
    topup_max_mg = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    max_daily_total_mg = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_to = serializers.DateTimeField(required=False, allow_null=True)
    documented_transfer = serializers.BooleanField(default=False)
    transfer_service = serializers.CharField(required=False, allow_blank=True, default="")
    transfer_last_dose_mg = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, default=None
    )
    transfer_last_dose_on = serializers.DateField(required=False, allow_null=True, default=None)
    transfer_confirmed_by = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField()
    clinical_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed for a re-titration restart above half the dose before the lapse, "
        "or a maintenance rise above the clinic's step.",
    )


class CancelSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField()


class PrescriptionViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Versioned prescriptions. Prescribers issue a new version; nobody edits one."""

    serializer_class = PrescriptionSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "dosing.view_prescription",
        "retrieve": "dosing.view_prescription",
        "create": "dosing.prescribe",
        "cancel": "dosing.prescribe",
    }
    filterset_fields = ["service_user", "purpose"]

    def get_queryset(self):
        return prescriptions_for_staff(self.request.user)

    @extend_schema(request=PrescriptionIssueSerializer, responses={201: PrescriptionSerializer})
    def create(self, request, *args, **kwargs):
        def issue(fields):
            # Another clinic's service user is a 404, as if it did not exist.
            service_user = service_user_in_scope(request.user, pk=fields.pop("service_user"))
            routes = fields.pop("routes")
            return prescription_issue(
                service_user=service_user,
                prescriber=request.user,
                route_iv="iv" in routes,
                route_im="im" in routes,
                **fields,
            )

        return self.act(PrescriptionIssueSerializer, issue, created=True)

    @extend_schema(request=CancelSerializer, responses={200: PrescriptionSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Withdraw a future version before it takes effect. It stays on record."""
        prescription = self.get_object()
        return self.act(
            CancelSerializer,
            lambda fields: prescription_cancel(
                prescription=prescription, cancelled_by=request.user, reason=fields["reason"]
            ),
            answer=prescription,
        )


class ReviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = Review
        fields = [
            "id",
            "service_user",
            "reviewed_at",
            "prescriber",
            "decision",
            "notes",
            "prescription",
        ]
        read_only_fields = fields


class ReviewRecordSerializer(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    notes = serializers.CharField()
    slot_doses = serializers.DictField(child=serializers.CharField(), required=False)
    topup_max_mg = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    clinical_reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Weekly prescriber reviews. A review may issue the next prescription version."""

    serializer_class = ReviewSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "dosing.view_review",
        "retrieve": "dosing.view_review",
        "create": "dosing.add_review",
    }
    filterset_fields = ["service_user", "decision"]

    def get_queryset(self):
        return reviews_for_staff(self.request.user).order_by("-reviewed_at", "-pk")

    @extend_schema(request=ReviewRecordSerializer, responses={201: ReviewSerializer})
    def create(self, request, *args, **kwargs):
        def record(fields):
            service_user = service_user_in_scope(request.user, pk=fields.pop("service_user"))
            return review_record(service_user=service_user, prescriber=request.user, **fields)

        return self.act(ReviewRecordSerializer, record, created=True)


class MethadonePrescriptionSerializer(serializers.ModelSerializer):
    pharmacy_name = serializers.CharField(source="pharmacy.name", read_only=True)

    class Meta:
        model = MethadonePrescription
        fields = [
            "id",
            "service_user",
            "version",
            "nightly_dose_mg",
            "pharmacy",
            "pharmacy_name",
            "valid_from",
            "valid_to",
            "prescriber",
            "reason",
            "issued_at",
        ]
        read_only_fields = fields


class MethadonePrescribeSerializer(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    nightly_dose_mg = serializers.CharField()
    pharmacy = serializers.IntegerField()
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_to = serializers.DateTimeField(required=False, allow_null=True)
    reason = serializers.CharField()


class MethadonePrescriptionViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Overnight oral methadone, versioned like diamorphine: issued, never edited."""

    serializer_class = MethadonePrescriptionSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "dosing.view_methadoneprescription",
        "retrieve": "dosing.view_methadoneprescription",
        "create": "dosing.prescribe",
    }
    filterset_fields = ["service_user"]

    def get_queryset(self):
        return methadone_prescriptions_for_staff(self.request.user)

    @extend_schema(
        request=MethadonePrescribeSerializer, responses={201: MethadonePrescriptionSerializer}
    )
    def create(self, request, *args, **kwargs):
        def prescribe(fields):
            service_user = service_user_in_scope(request.user, pk=fields.pop("service_user"))
            pharmacy = get_object_or_404(
                Pharmacy.objects.filter(clinic=service_user.clinic), pk=fields.pop("pharmacy")
            )
            return methadone_prescribe(
                service_user=service_user, prescriber=request.user, pharmacy=pharmacy, **fields
            )

        return self.act(MethadonePrescribeSerializer, prescribe, created=True)
