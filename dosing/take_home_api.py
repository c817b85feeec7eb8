"""API for take-home doses: ``GET take-home/eligibility/?service_user=ID`` answers the
clinic's criteria for one service user, each met or not with its evidence;
``take-home/prescriptions/`` lists the versions and issues the next (prescribers);
``take-home/supplies/`` lists the supplies and records one, witnessed (nurses);
``take-home/returns/`` the doses brought back and destroyed."""

from dataclasses import asdict

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.response import Response

from core.api import (
    ActionPermissions,
    ActsThroughServices,
    StrictFieldsMixin,
    query_number,
    requires,
)
from eligibility.access import What, access_record
from eligibility.selectors import service_user_in_scope, service_users_for_staff

from .missed import settle_service_user
from .models import (
    WEEKDAYS,
    TakeHomeDose,
    TakeHomeLoss,
    TakeHomePrescription,
    TakeHomeReturn,
    TakeHomeRoute,
    TakeHomeSupply,
)
from .take_home import take_home_prescribe
from .take_home_criteria import take_home_eligibility
from .take_home_lapses import take_home_loss_report
from .take_home_returns import take_home_return
from .take_home_supply import take_home_supply


class TakeHomeCriterionSerializer(serializers.Serializer):
    code = serializers.CharField()
    asks = serializers.CharField(help_text="What the criterion asks, with the clinic's number.")
    level = serializers.ChoiceField(choices=["required", "advisory"])
    met = serializers.BooleanField()
    evidence = serializers.CharField()


class TakeHomeEligibilitySerializer(serializers.Serializer):
    service_user = serializers.IntegerField()
    policy = serializers.IntegerField(help_text="The policy version whose criteria these are.")
    eligible = serializers.BooleanField(help_text="No required criterion is unmet.")
    blocking = serializers.ListField(
        child=serializers.CharField(), help_text="Required criteria not met."
    )
    needs_reason = serializers.ListField(
        child=serializers.CharField(),
        help_text="Advisory criteria not met: a prescription needs a written reason.",
    )
    criteria = TakeHomeCriterionSerializer(
        many=True, help_text="Criteria switched off are left out."
    )


@extend_schema(
    operation_id="take_home_eligibility",
    parameters=[
        OpenApiParameter("service_user", int, required=True, description="The service user's id."),
        OpenApiParameter(
            "doses_per_week",
            int,
            description="Take-home doses a week being considered, checked against the maximum.",
        ),
    ],
    responses={200: TakeHomeEligibilitySerializer},
)
@api_view(["GET"])
@permission_classes([requires("dosing.view_prescription")])
def take_home_eligibility_api(request):
    """The clinic's take-home criteria for one service user, under the policy in force:
    each met or not, with the evidence."""
    pk = query_number(
        request,
        "service_user",
        message="Name the service user: ?service_user=<id>.",
        code="service_user_invalid",
    )
    per_week = query_number(
        request,
        "doses_per_week",
        message="Give the doses a week as a whole number from 1.",
        code="doses_per_week_invalid",
        required=False,
    )
    service_user = service_user_in_scope(request.user, pk=pk)
    settle_service_user(service_user.pk, now=timezone.now())  # today's status
    service_user.refresh_from_db()
    access_record(request, What.TAKE_HOME, service_user=service_user)
    answer = take_home_eligibility(service_user=service_user, doses_per_week=per_week)
    return Response(
        {
            "service_user": service_user.pk,
            "policy": answer.policy.pk,
            "eligible": answer.eligible,
            "blocking": [c.code for c in answer.blocking],
            "needs_reason": [c.code for c in answer.needing_reason],
            "criteria": [asdict(c) for c in answer.criteria],
        }
    )


class TakeHomePrescriptionSerializer(serializers.ModelSerializer):
    doses_per_week = serializers.IntegerField(read_only=True)
    slot_codes = serializers.ListField(child=serializers.CharField())
    weekdays = serializers.ListField(child=serializers.ChoiceField(choices=WEEKDAYS))
    criteria = serializers.ListField(
        child=serializers.DictField(),
        help_text="The criteria as answered when it was written: code, level, met, evidence.",
    )

    class Meta:
        model = TakeHomePrescription
        fields = [
            "id",
            "service_user",
            "version",
            "drug",
            "route",
            "dose_mg",
            "slot_codes",
            "weekdays",
            "doses_per_week",
            "valid_from",
            "valid_to",
            "prescriber",
            "reason",
            "policy",
            "criteria",
            "criteria_reason",
            "issued_at",
        ]
        read_only_fields = fields


class TakeHomePrescribeSerializer(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    route = serializers.ChoiceField(choices=TakeHomeRoute.choices)
    dose_mg = serializers.CharField(help_text="Each take-home dose, in mg.")
    slot_codes = serializers.ListField(
        child=serializers.CharField(max_length=12),
        max_length=12,
        help_text='The clinic\'s slots taken at home, e.g. ["PM"].',
    )
    weekdays = serializers.ListField(
        child=serializers.ChoiceField(choices=WEEKDAYS), max_length=7, help_text="mon ... sun"
    )
    valid_from = serializers.DateField(help_text="The first clinic day, today or later.")
    valid_to = serializers.DateField(help_text="The last clinic day; at most 12 weeks on.")
    reason = serializers.CharField()
    criteria_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed when a criterion the clinic made advisory is not met.",
    )


class TakeHomePrescriptionViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Take-home prescriptions, versioned. Prescribers issue a new version; nobody
    edits one."""

    serializer_class = TakeHomePrescriptionSerializer
    queryset = TakeHomePrescription.objects.none()  # for the schema; get_queryset scopes
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "dosing.view_prescription",
        "retrieve": "dosing.view_prescription",
        "create": "dosing.prescribe",
    }
    filterset_fields = ["service_user"]

    def get_queryset(self):
        return TakeHomePrescription.objects.filter(
            service_user__in=service_users_for_staff(self.request.user)
        ).order_by("service_user", "-valid_from", "-version")

    @extend_schema(
        request=TakeHomePrescribeSerializer, responses={201: TakeHomePrescriptionSerializer}
    )
    def create(self, request, *args, **kwargs):
        def issue(fields):
            # Another clinic's service user is a 404, as if it did not exist.
            service_user = service_user_in_scope(request.user, pk=fields.pop("service_user"))
            return take_home_prescribe(service_user=service_user, prescriber=request.user, **fields)

        return self.act(TakeHomePrescribeSerializer, issue, created=True)


class TakeHomeDoseSerializer(serializers.ModelSerializer):
    class Meta:
        model = TakeHomeDose
        fields = ["clinic_day", "slot_code", "dose_mg", "route", "units", "session"]
        read_only_fields = fields


class TakeHomeSupplySerializer(serializers.ModelSerializer):
    doses = TakeHomeDoseSerializer(many=True, read_only=True)
    unit = serializers.CharField(source="section.form", read_only=True)

    class Meta:
        model = TakeHomeSupply
        fields = [
            "id",
            "service_user",
            "clinic",
            "prescription",
            "section",
            "unit",
            "units",
            "doses",
            "supplied_by",
            "witness",
            "supplied_at",
            "next_visit",
            "note",
        ]
        read_only_fields = fields


class TakeHomeSupplyInput(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    through = serializers.DateField(
        help_text="The last clinic day supplied: today or up to six days on. The service "
        "user is due back the day after."
    )
    witness_username = serializers.CharField(max_length=150)
    witness_password = serializers.CharField(max_length=128, trim_whitespace=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class TakeHomeLossInput(StrictFieldsMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=TakeHomeLoss.Kind.choices)
    doses = serializers.IntegerField(min_value=1, max_value=100)
    happened_on = serializers.DateField()
    description = serializers.CharField(
        help_text="What happened, and whether the police were told."
    )


class TakeHomeSupplyViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Take-home doses handed over at a visit, witnessed; nurses supply, nobody edits."""

    serializer_class = TakeHomeSupplySerializer
    queryset = TakeHomeSupply.objects.none()  # for the schema; get_queryset scopes
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "dosing.view_prescription",
        "retrieve": "dosing.view_prescription",
        "create": "dosing.supply_take_home",
        "report_loss": "dosing.supply_take_home",
    }
    filterset_fields = ["service_user"]

    def get_queryset(self):
        return (
            TakeHomeSupply.objects.filter(
                service_user__in=service_users_for_staff(self.request.user)
            )
            .select_related("section")
            .prefetch_related("doses")
            .order_by("-supplied_at", "-pk")
        )

    @extend_schema(request=TakeHomeSupplyInput, responses={201: TakeHomeSupplySerializer})
    def create(self, request, *args, **kwargs):
        def supply(fields):
            service_user = service_user_in_scope(request.user, pk=fields.pop("service_user"))
            return take_home_supply(service_user=service_user, nurse=request.user, **fields)

        return self.act(TakeHomeSupplyInput, supply, created=True)

    @extend_schema(request=TakeHomeLossInput, responses={200: TakeHomeSupplySerializer})
    @action(detail=True, methods=["post"], url_path="report-loss")
    def report_loss(self, request, pk=None):
        """A supply reported lost or stolen: recorded as the incident, it suspends
        take-home and alerts the prescriber."""
        given = self.get_object()
        return self.act(
            TakeHomeLossInput,
            lambda fields: take_home_loss_report(supply=given, reported_by=request.user, **fields),
            answer=given,
        )


class TakeHomeReturnSerializer(serializers.ModelSerializer):
    doses = serializers.SerializerMethodField()

    class Meta:
        model = TakeHomeReturn
        fields = [
            "id",
            "service_user",
            "supply",
            "doses",
            "units",
            "received_by",
            "witness",
            "received_at",
            "note",
        ]
        read_only_fields = fields

    def get_doses(self, returned) -> list[int]:
        return [row.dose_id for row in returned.doses.all()]


class TakeHomeReturnInput(StrictFieldsMixin, serializers.Serializer):
    supply = serializers.IntegerField()
    doses = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=50,
        help_text="The ids of the supply's doses brought back.",
    )
    units = serializers.IntegerField(min_value=1, help_text="Ampoules or tablets brought back.")
    witness_username = serializers.CharField(max_length=150)
    witness_password = serializers.CharField(max_length=128, trim_whitespace=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class TakeHomeReturnViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Unused take-home doses brought back and destroyed, witnessed by an authorised
    witness; nurses record them, nobody edits."""

    serializer_class = TakeHomeReturnSerializer
    queryset = TakeHomeReturn.objects.none()  # for the schema; get_queryset scopes
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "dosing.view_prescription",
        "retrieve": "dosing.view_prescription",
        "create": "dosing.supply_take_home",
    }
    filterset_fields = ["service_user", "supply"]

    def get_queryset(self):
        return (
            TakeHomeReturn.objects.filter(
                service_user__in=service_users_for_staff(self.request.user)
            )
            .prefetch_related("doses")
            .order_by("-received_at", "-pk")
        )

    @extend_schema(request=TakeHomeReturnInput, responses={201: TakeHomeReturnSerializer})
    def create(self, request, *args, **kwargs):
        def record(fields):
            given = get_object_or_404(
                TakeHomeSupply.objects.select_related("service_user", "section", "clinic"),
                pk=fields.pop("supply"),
                service_user__in=service_users_for_staff(request.user),
            )
            return take_home_return(
                supply=given, dose_ids=fields.pop("doses"), received_by=request.user, **fields
            )

        return self.act(TakeHomeReturnInput, record, created=True)
