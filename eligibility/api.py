"""API for clinics and service users. Thin: scope to the caller's clinics, serialise."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied

from core.api import ActionPermissions, ActsThroughServices, LocalTimeField, StrictFieldsMixin
from core.errors import RuleViolation
from core.roles import staff_name

from . import second_factor
from .access import access_log_for_staff
from .models import AccessLog, Clinic, ClinicPolicy, DoseSlot, ServiceUser, StaffMembership
from .pathway import service_user_admit
from .pathway_api import AdmitInput
from .selectors import attach_policies_in_force, clinics_for_staff, service_users_for_staff
from .services import titration_complete
from .settling import SettledReads


class DoseSlotSerializer(serializers.ModelSerializer):
    opens_at = LocalTimeField()
    closes_at = LocalTimeField()

    class Meta:
        model = DoseSlot
        fields = ["code", "opens_at", "closes_at"]


class ClinicPolicySerializer(serializers.ModelSerializer):
    slots = DoseSlotSerializer(many=True, read_only=True)

    class Meta:
        model = ClinicPolicy
        exclude = ["clinic", "created_by"]


class ClinicSerializer(serializers.ModelSerializer):
    policy = serializers.SerializerMethodField()

    class Meta:
        model = Clinic
        fields = ["id", "name", "time_zone", "policy"]

    @extend_schema_field(ClinicPolicySerializer(allow_null=True))
    def get_policy(self, clinic):
        # Set for the whole page by ClinicViewSet.get_serializer, never one query per clinic.
        return ClinicPolicySerializer(clinic.policy).data if clinic.policy else None


class ClinicViewSet(viewsets.ReadOnlyModelViewSet):
    """The caller's clinics and the policy in force in each now."""

    serializer_class = ClinicSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"list": "eligibility.view_clinic", "retrieve": "eligibility.view_clinic"}

    def get_queryset(self):
        return clinics_for_staff(self.request.user).order_by("name")

    def get_serializer(self, instance=None, *args, **kwargs):
        if instance is not None:
            many = kwargs.get("many", False)
            attached = attach_policies_in_force(instance if many else [instance])
            instance = attached if many else attached[0]
        return super().get_serializer(instance, *args, **kwargs)


class ServiceUserSerializer(serializers.ModelSerializer):
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ServiceUser
        fields = [
            "id",
            "clinic",
            "nhs_number",
            "given_name",
            "family_name",
            "preferred_name",
            "date_of_birth",
            "status",
            "status_changed_at",
            "consecutive_not_taken",
            "flags",
        ]


class TitrationCompleteInput(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ServiceUserViewSet(ActsThroughServices, SettledReads, viewsets.ReadOnlyModelViewSet):
    """People in the pathway. Another clinic's service user is a 404, never a 403."""

    serializer_class = ServiceUserSerializer
    filterset_fields = ["status", "clinic"]
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "eligibility.view_serviceuser",
        "retrieve": "eligibility.view_serviceuser",
        # Checked in the action, after the lookup: another clinic's person is a 404.
        "titration_complete": "eligibility.view_serviceuser",
        "admit": "eligibility.view_serviceuser",
    }

    def get_queryset(self):
        return service_users_for_staff(self.request.user).order_by("family_name", "id")

    @extend_schema(request=TitrationCompleteInput, responses={200: ServiceUserSerializer})
    @action(detail=True, methods=["post"], url_path="titration-complete")
    def titration_complete(self, request, pk=None):
        """The prescriber marks titration (or re-titration) complete: maintenance."""
        service_user = self.get_object()
        if not request.user.has_perm("eligibility.change_status"):
            raise PermissionDenied("Only prescribers can mark titration complete.")
        return self.act(
            TitrationCompleteInput,
            lambda fields: titration_complete(
                service_user=service_user, prescriber=request.user, reason=fields["reason"]
            ),
            answer=service_user,
        )

    @extend_schema(request=AdmitInput, responses={200: ServiceUserSerializer})
    @action(detail=True, methods=["post"])
    def admit(self, request, pk=None):
        """Admit an accepted person: the signed treatment agreement, then titration.
        Refused (400, clinic_full) when no place is free. Prescribers only."""
        service_user = self.get_object()
        if not request.user.has_perm("eligibility.admit"):
            raise PermissionDenied("Only prescribers admit service users.")

        def admit(fields):
            witness = AdmitInput.witness_named(fields["witness"])
            if witness is None:
                raise RuleViolation(
                    "No member of staff has that username.", code="witness_unknown", field="witness"
                )
            service_user_admit(
                service_user=service_user,
                admitted_by=request.user,
                agreement_signed_on=fields["agreement_signed_on"],
                witness=witness,
            )

        return self.act(AdmitInput, admit, answer=service_user)


class AccessLogSerializer(serializers.ModelSerializer):
    user_name = serializers.SerializerMethodField()

    class Meta:
        model = AccessLog
        fields = ["id", "at", "user", "user_name", "clinic", "service_user", "what", "export"]
        read_only_fields = fields

    def get_user_name(self, entry) -> str:
        return staff_name(entry.user)


class AccessLogViewSet(viewsets.ReadOnlyModelViewSet):
    """Who opened a service user's record or exported data, newest first (managers):
    ``?service_user=ID`` for one person's record. No clinical content."""

    serializer_class = AccessLogSerializer
    queryset = AccessLog.objects.none()  # for the schema; get_queryset scopes the caller
    permission_classes = [ActionPermissions]
    filterset_fields = ["service_user", "clinic", "what"]
    action_permissions = {
        "list": "eligibility.view_accesslog",
        "retrieve": "eligibility.view_accesslog",
    }

    def get_queryset(self):
        return access_log_for_staff(self.request.user)


class StaffSerializer(serializers.ModelSerializer):
    """A membership: a member of staff in one clinic, with their roles and second factor."""

    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    last_login = serializers.DateTimeField(source="user.last_login", read_only=True)
    second_factor = serializers.BooleanField(read_only=True)
    second_factor_since = serializers.DateTimeField(read_only=True, allow_null=True)
    recovery_codes_left = serializers.IntegerField(read_only=True)

    class Meta:
        model = StaffMembership
        fields = [
            "id",
            "clinic",
            "user",
            "username",
            "name",
            "roles",
            "last_login",
            "second_factor",
            "second_factor_since",
            "recovery_codes_left",
        ]
        read_only_fields = fields

    def get_name(self, membership) -> str:
        return staff_name(membership.user)

    def get_roles(self, membership) -> list[str]:
        return [group.name for group in membership.user.groups.all()]


class ResetSecondFactorInput(StrictFieldsMixin, serializers.Serializer):
    """No fields: the reset is the request itself. A body, if sent, must be JSON."""


class StaffViewSet(ActsThroughServices, viewsets.ReadOnlyModelViewSet):
    """The staff of the caller's clinics (managers). ``POST staff/{id}/reset-second-factor/``
    resets that member of staff's authenticator and recovery codes: they set up an
    authenticator again at their next login."""

    serializer_class = StaffSerializer
    queryset = StaffMembership.objects.none()  # for the schema; get_queryset scopes the caller
    permission_classes = [ActionPermissions]
    filterset_fields = ["clinic"]
    action_permissions = {
        "list": "eligibility.view_staffmembership",
        "retrieve": "eligibility.view_staffmembership",
        "reset_second_factor": "eligibility.reset_second_factor",
    }

    def get_queryset(self):
        return second_factor.staff_of(clinics_for_staff(self.request.user))

    @extend_schema(request=ResetSecondFactorInput, responses={200: StaffSerializer})
    @action(detail=True, methods=["post"], url_path="reset-second-factor")
    def reset_second_factor(self, request, pk=None):
        membership = self.get_object()
        return self.act(
            ResetSecondFactorInput,
            lambda fields: second_factor.reset(
                user=membership.user, by=request.user, clinic=membership.clinic
            ),
            answer=membership,
        )
