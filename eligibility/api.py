"""API for clinics and service users. Thin: scope to the caller's clinics, serialise."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser

from core.api import ActionPermissions, ActsThroughServices, LocalTimeField, StrictFieldsMixin
from core.errors import RuleViolation
from core.roles import CLINIC_ROLES, staff_name

from . import second_factor
from .access import access_log_for_staff
from .clinic_setup import clinic_open
from .models import (
    AccessLog,
    Clinic,
    ClinicPolicy,
    DoseSlot,
    Flag,
    ServiceUser,
    StaffMembership,
)
from .pathway import service_user_admit
from .pathway_api import AdmitInput
from .permissions import holds_on_account
from .record import flag_set, identity_correct, photo_set
from .selectors import (
    attach_policies_in_force,
    clinic_named,
    clinics_for_staff,
    clinics_in_scope,
    service_users_for_staff,
)
from .services import titration_complete
from .settling import SettledReads
from .staff import password_reset_link, staff_add, staff_deactivate, staff_roles_change


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
        fields = ["id", "name", "address", "phone", "time_zone", "policy"]

    @extend_schema_field(ClinicPolicySerializer(allow_null=True))
    def get_policy(self, clinic):
        # Set for the whole page by ClinicViewSet.get_serializer, never one query per
        # clinic; a clinic just opened is read alone.
        if not hasattr(clinic, "policy"):
            clinic = attach_policies_in_force([clinic])[0]
        return ClinicPolicySerializer(clinic.policy).data if clinic.policy else None


class ClinicOpenInput(StrictFieldsMixin, serializers.Serializer):
    """A new clinic and its first manager: an existing account's username, or a new
    account's username, name and first password."""

    name = serializers.CharField(max_length=120)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    time_zone = serializers.CharField(max_length=64, default="Europe/London")
    capacity = serializers.IntegerField(min_value=1, max_value=1000, default=15)
    manager_username = serializers.CharField(max_length=150)
    manager_first_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default=""
    )
    manager_last_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default=""
    )
    manager_email = serializers.EmailField(required=False, allow_blank=True, default="")
    manager_password = serializers.CharField(
        max_length=128, required=False, allow_blank=True, default="", trim_whitespace=False
    )


class ClinicViewSet(ActsThroughServices, viewsets.ReadOnlyModelViewSet):
    """The caller's clinics and the policy in force in each now; every clinic for an
    installation administrator, who ``POST``s one to open it with its first manager."""

    serializer_class = ClinicSerializer
    queryset = Clinic.objects.none()  # for the schema; get_queryset scopes the caller
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "eligibility.view_clinic",
        "retrieve": "eligibility.view_clinic",
        "create": "eligibility.add_clinic",
    }

    def get_queryset(self):
        user = self.request.user
        if holds_on_account(user, "eligibility.add_clinic"):
            return Clinic.objects.order_by("name")
        return clinics_for_staff(user).order_by("name")

    @extend_schema(request=ClinicOpenInput, responses={201: ClinicSerializer})
    def create(self, request):
        return self.act(
            ClinicOpenInput,
            lambda fields: clinic_open(opened_by=request.user, **fields)[0],
            created=True,
        )

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


class CorrectInput(StrictFieldsMixin, serializers.Serializer):
    """The identity fields to correct (any of them), and why."""

    given_name = serializers.CharField(max_length=100, required=False)
    family_name = serializers.CharField(max_length=100, required=False)
    preferred_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False)
    nhs_number = serializers.CharField(max_length=20, required=False)
    reason = serializers.CharField(max_length=500)


class PhotoInput(serializers.Serializer):
    photo = serializers.FileField()


class FlagInput(StrictFieldsMixin, serializers.Serializer):
    flag = serializers.ChoiceField([flag.value for flag in Flag])
    on = serializers.BooleanField()
    reason = serializers.CharField(max_length=500)


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
        "correct": "eligibility.view_serviceuser",
        "photo": "eligibility.view_serviceuser",
        "flags": "eligibility.view_serviceuser",
    }

    def _may(self, service_user, permission, refusal):
        """A role check against the person's clinic, after the lookup: another clinic's
        person is a 404 first."""
        if not self.request.user.has_perm(permission, service_user.clinic):
            raise PermissionDenied(refusal)

    @extend_schema(request=CorrectInput, responses={200: ServiceUserSerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        """Correct identity fields, with a reason kept in the record's history."""
        service_user = self.get_object()
        self._may(service_user, "eligibility.change_serviceuser", "Your role cannot correct it.")
        return self.act(
            CorrectInput,
            lambda fields: identity_correct(service_user=service_user, by=request.user, **fields),
        )

    @extend_schema(request=PhotoInput, responses={200: ServiceUserSerializer})
    @action(
        detail=True, methods=["post"], parser_classes=[MultiPartParser], url_name="photo-upload"
    )
    def photo(self, request, pk=None):
        """The photo, as multipart/form-data ``photo``: re-encoded as a JPEG."""
        service_user = self.get_object()
        self._may(service_user, "eligibility.change_serviceuser", "Your role cannot take it.")
        return self.act(
            PhotoInput,
            lambda fields: photo_set(
                service_user=service_user, upload=fields["photo"], by=request.user
            ),
        )

    @extend_schema(request=FlagInput, responses={200: ServiceUserSerializer})
    @action(detail=True, methods=["post"])
    def flags(self, request, pk=None):
        """Add (``on: true``) or remove a risk flag, with a reason. Nurses, prescribers."""
        service_user = self.get_object()
        self._may(service_user, "eligibility.flag_serviceuser", "Your role cannot change flags.")
        return self.act(
            FlagInput,
            lambda fields: flag_set(service_user=service_user, by=request.user, **fields),
        )

    def get_queryset(self):
        return service_users_for_staff(self.request.user).order_by("family_name", "id")

    @extend_schema(request=TitrationCompleteInput, responses={200: ServiceUserSerializer})
    @action(detail=True, methods=["post"], url_path="titration-complete")
    def titration_complete(self, request, pk=None):
        """The prescriber marks titration (or re-titration) complete: maintenance."""
        service_user = self.get_object()
        if not request.user.has_perm("eligibility.change_status", service_user.clinic):
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
        if not request.user.has_perm("eligibility.admit", service_user.clinic):
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
            "deactivated_at",
        ]
        read_only_fields = fields

    def get_name(self, membership) -> str:
        return staff_name(membership.user)

    def get_roles(self, membership) -> list[str]:
        return [group.name for group in membership.roles.all()]


ROLE_CHOICES = [role.value for role in CLINIC_ROLES]


class StaffAddInput(StrictFieldsMixin, serializers.Serializer):
    """A person joins a clinic's staff with roles there: an existing account by its
    username, or a new one, whose one-time link to set a password is answered once."""

    clinic = serializers.IntegerField(required=False, allow_null=True, default=None)
    username = serializers.CharField(max_length=150)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    roles = serializers.ListField(child=serializers.ChoiceField(ROLE_CHOICES), min_length=1)


class StaffRolesInput(StrictFieldsMixin, serializers.Serializer):
    roles = serializers.ListField(child=serializers.ChoiceField(ROLE_CHOICES), min_length=1)
    reason = serializers.CharField(max_length=500)


class StaffDeactivateInput(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class StaffLinkSerializer(StaffSerializer):
    """A membership with the one-time link to set a password, answered once."""

    link = serializers.SerializerMethodField()

    class Meta(StaffSerializer.Meta):
        fields = [*StaffSerializer.Meta.fields, "link"]
        read_only_fields = fields

    def get_link(self, membership) -> str | None:
        key = self.context.get("link_key")
        if key is None:
            return None
        return self.context["request"].build_absolute_uri(reverse("staff-link", args=[key]))


class ResetSecondFactorInput(StrictFieldsMixin, serializers.Serializer):
    """No fields: the reset is the request itself. A body, if sent, must be JSON."""


class StaffViewSet(ActsThroughServices, viewsets.ReadOnlyModelViewSet):
    """The staff of the caller's clinics (managers), each membership with its roles
    there. ``POST staff/`` adds a person (a new one gets a one-time ``link`` to set
    their password); ``PATCH staff/{id}/`` sets their roles, with a reason;
    ``POST staff/{id}/deactivate/`` takes them off the staff;
    ``POST staff/{id}/reset-password/`` answers a one-time link to set a new one;
    ``POST staff/{id}/reset-second-factor/`` resets their authenticator and recovery
    codes: they set up an authenticator again at their next login."""

    serializer_class = StaffSerializer
    queryset = StaffMembership.objects.none()  # for the schema; get_queryset scopes the caller
    permission_classes = [ActionPermissions]
    filterset_fields = ["clinic"]
    action_permissions = {
        "list": "eligibility.view_staffmembership",
        "retrieve": "eligibility.view_staffmembership",
        "reset_second_factor": "eligibility.reset_second_factor",
        "create": "eligibility.add_staffmembership",
        "partial_update": "eligibility.change_staffmembership",
        "deactivate": "eligibility.change_staffmembership",
        "reset_password": "eligibility.change_staffmembership",
    }

    def get_queryset(self):
        return second_factor.staff_of(clinics_in_scope(self.request.user))

    def get_serializer_context(self):
        # A one-time link's key, set by the action that made it, for StaffLinkSerializer.
        return {**super().get_serializer_context(), "link_key": getattr(self, "_link_key", None)}

    def _keeping_link(self, made):
        """A membership and its link's key: the key is answered once, with it."""
        membership, self._link_key = made
        return membership

    @extend_schema(request=StaffAddInput, responses={201: StaffLinkSerializer})
    def create(self, request):
        def add(fields):
            clinic = clinic_named(request.user, fields.pop("clinic"))
            return self._keeping_link(staff_add(clinic=clinic, added_by=request.user, **fields))

        return self.act(StaffAddInput, add, created=True, answer_with=StaffLinkSerializer)

    @extend_schema(request=StaffRolesInput, responses={200: StaffSerializer})
    def partial_update(self, request, pk=None):
        membership = self.get_object()
        return self.act(
            StaffRolesInput,
            lambda fields: staff_roles_change(
                membership=membership, changed_by=request.user, **fields
            ),
        )

    @extend_schema(request=StaffDeactivateInput, responses={200: StaffSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        membership = self.get_object()
        return self.act(
            StaffDeactivateInput,
            lambda fields: staff_deactivate(membership=membership, by=request.user, **fields),
        )

    @extend_schema(request=ResetSecondFactorInput, responses={200: StaffLinkSerializer})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        membership = self.get_object()
        return self.act(
            ResetSecondFactorInput,
            lambda fields: self._keeping_link(
                (membership, password_reset_link(membership=membership, by=request.user))
            ),
            answer_with=StaffLinkSerializer,
        )

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
