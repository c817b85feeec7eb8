"""API for guest stays: ``guest-stays/`` lists the stays of the caller's clinics, home
or host, and a home prescriber authorises one; ``POST guest-stays/{id}/accept/`` by a
manager of the host; ``POST guest-stays/{id}/end/`` by a prescriber of the home clinic
(cancel) or a manager of the host (decline, or end early)."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from core.api import ActionPermissions, ActsThroughServices, StrictFieldsMixin
from eligibility.models import Clinic
from eligibility.selectors import service_user_in_scope

from .guest import (
    guest_stay_accept,
    guest_stay_authorise,
    guest_stay_end,
    may_accept,
    may_end,
    who_accepts,
    who_ends,
)
from .guest_selectors import stays_for_staff
from .models import GuestStay


class GuestStaySerializer(serializers.ModelSerializer):
    service_user_name = serializers.CharField(source="service_user.full_name", read_only=True)
    state = serializers.CharField(
        read_only=True, help_text="awaiting (the host has not accepted), accepted, or ended."
    )
    accepted_by = serializers.IntegerField(
        source="acceptance.accepted_by_id", default=None, allow_null=True
    )
    accepted_at = serializers.DateTimeField(
        source="acceptance.accepted_at", default=None, allow_null=True
    )
    ended_by = serializers.IntegerField(source="end.ended_by_id", default=None, allow_null=True)
    ended_at = serializers.DateTimeField(source="end.ended_at", default=None, allow_null=True)
    home_from = serializers.DateField(
        source="end.home_from",
        default=None,
        allow_null=True,
        help_text="From this day, dosed at home again.",
    )
    end_reason = serializers.CharField(source="end.reason", default=None, allow_null=True)

    class Meta:
        model = GuestStay
        fields = [
            "id",
            "service_user",
            "service_user_name",
            "home_clinic",
            "host_clinic",
            "first_day",
            "last_day",
            "reason",
            "authorised_by",
            "authorised_at",
            "state",
            "accepted_by",
            "accepted_at",
            "ended_by",
            "ended_at",
            "home_from",
            "end_reason",
        ]
        read_only_fields = fields


class GuestStayInput(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    host_clinic = serializers.PrimaryKeyRelatedField(
        queryset=Clinic.objects.all(), help_text="Another clinic of the installation."
    )
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    reason = serializers.CharField(max_length=1000)


class GuestStayAcceptInput(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class GuestStayEndInput(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class GuestStayViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Stays at another clinic of the installation. Nobody edits one: the host accepts,
    and either side ends it."""

    serializer_class = GuestStaySerializer
    queryset = GuestStay.objects.none()  # for the schema; get_queryset scopes
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "dosing.view_gueststay",
        "retrieve": "dosing.view_gueststay",
        "create": "dosing.add_gueststay",
        "accept": "dosing.accept_guest_stay",
        "end": "dosing.view_gueststay",
    }
    filterset_fields = ["service_user", "home_clinic", "host_clinic"]

    def get_queryset(self):
        return stays_for_staff(self.request.user)

    @extend_schema(request=GuestStayInput, responses={201: GuestStaySerializer})
    def create(self, request, *args, **kwargs):
        """A home prescriber authorises a stay; it takes effect when the host accepts."""

        def authorise(fields):
            person = service_user_in_scope(request.user, pk=fields.pop("service_user"))
            return guest_stay_authorise(service_user=person, prescriber=request.user, **fields)

        return self.act(GuestStayInput, authorise, created=True)

    @extend_schema(request=GuestStayAcceptInput, responses={200: GuestStaySerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """The host's manager accepts: from then the host doses the person."""
        stay = self.get_object()
        if not may_accept(request.user, stay):
            raise PermissionDenied(who_accepts(stay))
        return self.act(
            GuestStayAcceptInput,
            lambda fields: guest_stay_accept(stay=stay, manager=request.user, **fields),
        )

    @extend_schema(request=GuestStayEndInput, responses={200: GuestStaySerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """Cancel (a home prescriber), or decline or end early (the host's manager)."""
        stay = self.get_object()
        if not may_end(request.user, stay):
            raise PermissionDenied(who_ends(stay))
        return self.act(
            GuestStayEndInput,
            lambda fields: guest_stay_end(stay=stay, by=request.user, **fields),
        )
