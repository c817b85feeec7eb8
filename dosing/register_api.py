"""cd-register/: the controlled drugs register's entries and balances through the
API, with the same services and refusals as the browser."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from core.api import ActionPermissions, ActsThroughServices, StrictFieldsMixin
from core.errors import choice
from eligibility.selectors import clinic_named, for_staff

from .models import EntryKind, RegisterEntry, RegisterSection
from .register import (
    ENTRY_FIELDS,
    ENTRY_PERMISSIONS,
    entry_fields_missing,
    register_record,
    register_section_add,
    section_entry,
)
from .register_ledger import MAX_AMPOULES
from .register_views import sections_for_staff


class RegisterEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = RegisterEntry
        fields = [
            "id",
            "section",
            "sequence",
            "kind",
            "occurred_at",
            "ampoules",
            "ampoules_in",
            "ampoules_out",
            "balance_ampoules",
            "quantity_in_mg",
            "quantity_out_mg",
            "balance_mg",
            "supplier_name",
            "supplier_address",
            "batch",
            "expiry",
            "session",
            "administration",
            "counted_ampoules",
            "counted_mg",
            "waste_mg",
            "corrected_mg",
            "corrects",
            "note",
            "recorded_by",
            "witness",
            "recorded_at",
        ]
        read_only_fields = fields


class RegisterSectionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = RegisterSection
        fields = [
            "id",
            "clinic",
            "name",
            "drug",
            "strength_mg",
            "form",
            "supplies_doses",
            "balance_ampoules",
            "balance_mg",
        ]
        read_only_fields = fields


class RegisterEntryInput(StrictFieldsMixin, serializers.Serializer):
    """One register entry. Supplies come from each administration, never from here."""

    KINDS = [(kind.value, kind.label) for kind in EntryKind if kind in ENTRY_FIELDS]
    section = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=KINDS)
    ampoules = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_AMPOULES,
        help_text="receipt, destruction; waste: the ampoules opened and wasted",
    )
    supplier_name = serializers.CharField(
        required=False,
        max_length=RegisterEntry._meta.get_field("supplier_name").max_length,
        help_text="receipt",
    )
    supplier_address = serializers.CharField(required=False, help_text="receipt")
    batch = serializers.CharField(
        required=False,
        max_length=RegisterEntry._meta.get_field("batch").max_length,
        help_text="receipt",
    )
    expiry = serializers.DateField(required=False, help_text="receipt")
    quantity_mg = serializers.CharField(
        required=False,
        help_text="waste, instead of ampoules: the mg drawn up, which opened as many "
        "ampoules as it needs",
    )
    counted_ampoules = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_AMPOULES, help_text="stock_check"
    )
    counted_mg = serializers.CharField(
        required=False, help_text="stock_check, instead of counted_ampoules: whole ampoules in mg"
    )
    corrects = serializers.IntegerField(required=False, help_text="correction: the entry's id")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    witness_username = serializers.CharField(
        required=False, max_length=150, help_text="waste, destruction"
    )
    witness_password = serializers.CharField(
        required=False, style={"input_type": "password"}, trim_whitespace=False
    )

    def validate(self, attrs):
        missing = entry_fields_missing(choice(EntryKind, attrs["kind"], field="kind"), attrs)
        if missing:
            raise serializers.ValidationError(
                {f: [f"Needed for a {attrs['kind']} entry."] for f in missing}
            )
        return attrs


class RegisterEntryViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Register entries in time order (?section=&kind=); GET cd-register/balances/ for
    each section's balance. Entries are never changed: correct by a correction."""

    serializer_class = RegisterEntrySerializer
    permission_classes = [ActionPermissions]
    filterset_fields = ["section", "kind"]
    action_permissions = {
        "list": "dosing.view_registerentry",
        "retrieve": "dosing.view_registerentry",
        "balances": "dosing.view_registersection",
        "create": "dosing.add_registerentry",
    }

    def get_queryset(self):
        return for_staff(
            RegisterEntry.objects, self.request.user, clinic="section__clinic"
        ).order_by("section", "sequence")

    @extend_schema(responses={200: RegisterSectionSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None, filterset_fields=[])
    def balances(self, request):
        sections = sections_for_staff(request.user).order_by("clinic", "drug", "strength_mg")
        return Response(RegisterSectionSerializer(sections, many=True).data)

    @extend_schema(request=RegisterEntryInput, responses={201: RegisterEntrySerializer})
    def create(self, request, *args, **kwargs):
        def record(fields):
            section = get_object_or_404(sections_for_staff(request.user), pk=fields.pop("section"))
            kind = choice(EntryKind, fields.pop("kind"), field="kind")
            if not request.user.has_perm(ENTRY_PERMISSIONS[kind], section.clinic):
                raise PermissionDenied("Your role cannot receive stock.")
            if kind == EntryKind.CORRECTION:  # the API names the entry by its id
                fields["corrects"] = section_entry(section, pk=fields["corrects"])
            return register_record(section=section, kind=kind, by=request.user, **fields)

        return self.act(RegisterEntryInput, record, created=True)


class RegisterSectionInput(StrictFieldsMixin, serializers.Serializer):
    """A section for a strength the clinic has not held yet."""

    clinic = serializers.IntegerField(required=False, allow_null=True, default=None)
    strength_mg = serializers.CharField(max_length=20)
    form = serializers.CharField(max_length=30, required=False, default="ampoule")
    supplies_doses = serializers.BooleanField(required=False, default=False)


class RegisterSectionViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The register's sections, one per strength, with their balances; a manager
    ``POST``s one for a new strength (it starts at none until a receipt)."""

    serializer_class = RegisterSectionSerializer
    permission_classes = [ActionPermissions]
    filterset_fields = ["clinic"]
    action_permissions = {
        "list": "dosing.view_registersection",
        "retrieve": "dosing.view_registersection",
        "create": "dosing.add_registersection",
    }

    def get_queryset(self):
        return sections_for_staff(self.request.user).order_by("clinic", "drug", "strength_mg")

    @extend_schema(request=RegisterSectionInput, responses={201: RegisterSectionSerializer})
    def create(self, request, *args, **kwargs):
        def add(fields):
            clinic = clinic_named(request.user, fields.pop("clinic"))
            return register_section_add(clinic=clinic, **fields)

        return self.act(RegisterSectionInput, add, created=True)
