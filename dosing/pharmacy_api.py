"""API for pharmacies (issue 18.4): ``GET pharmacies/`` lists the caller's clinics'
pharmacies (``?clinic=``, ``?active=``); managers ``POST`` one, ``PATCH`` its details
with a ``reason``, and ``POST pharmacies/{id}/deactivate/`` with a ``reason``."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from core.api import ActionPermissions, ActsThroughServices, StrictFieldsMixin
from eligibility.selectors import clinic_named, clinics_in_scope

from .models import Pharmacy
from .prescribing import pharmacy_add, pharmacy_deactivate, pharmacy_update


class PharmacySerializer(serializers.ModelSerializer):
    class Meta:
        model = Pharmacy
        fields = ["id", "clinic", "name", "address", "ods_code", "phone", "active"]


class PharmacyInput(StrictFieldsMixin, serializers.Serializer):
    clinic = serializers.IntegerField(
        required=False, help_text="Needed only by staff of more than one clinic."
    )
    name = serializers.CharField(max_length=120)
    address = serializers.CharField()
    ods_code = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class PharmacyChangeInput(StrictFieldsMixin, serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    address = serializers.CharField(required=False)
    ods_code = serializers.CharField(max_length=10, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    reason = serializers.CharField()


class ReasonInput(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField()


class PharmacyViewSet(ActsThroughServices, viewsets.ReadOnlyModelViewSet):
    serializer_class = PharmacySerializer
    queryset = Pharmacy.objects.none()  # for the schema; get_queryset scopes the caller
    permission_classes = [ActionPermissions]
    filterset_fields = ["clinic", "active"]
    action_permissions = {
        "list": "dosing.view_pharmacy",
        "retrieve": "dosing.view_pharmacy",
        "create": "dosing.add_pharmacy",
        "partial_update": "dosing.change_pharmacy",
        "deactivate": "dosing.change_pharmacy",
    }

    def get_queryset(self):
        return Pharmacy.objects.filter(clinic__in=clinics_in_scope(self.request.user)).order_by(
            "name", "pk"
        )

    @extend_schema(request=PharmacyInput, responses={201: PharmacySerializer})
    def create(self, request, *args, **kwargs):
        def add(fields):
            clinic = clinic_named(request.user, fields.pop("clinic", None))
            return pharmacy_add(clinic=clinic, by=request.user, **fields)

        return self.act(PharmacyInput, add, created=True)

    @extend_schema(request=PharmacyChangeInput, responses={200: PharmacySerializer})
    def partial_update(self, request, *args, **kwargs):
        pharmacy = self.get_object()

        def change(fields):
            values = {
                name: fields.get(name, getattr(pharmacy, name))
                for name in ("name", "address", "ods_code", "phone")
            }
            return pharmacy_update(
                pharmacy=pharmacy, by=request.user, reason=fields["reason"], **values
            )

        return self.act(PharmacyChangeInput, change)

    @extend_schema(request=ReasonInput, responses={200: PharmacySerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        pharmacy = self.get_object()
        return self.act(
            ReasonInput,
            lambda fields: pharmacy_deactivate(
                pharmacy=pharmacy, by=request.user, reason=fields["reason"]
            ),
        )
