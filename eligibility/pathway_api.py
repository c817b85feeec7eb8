"""referrals/, eligibility-assessments/ and admission: the pathway before treatment
through the API, with the same services and refusals as the browser."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied

from core.api import ActionPermissions, ActsThroughServices, StrictFieldsMixin

from .models import (
    Criterion,
    CriterionAnswer,
    EligibilityAssessment,
    Flag,
    Referral,
    ReferralDecision,
)
from .pathway import (
    WAITING,
    WAITING_ORDER,
    eligibility_assess,
    referral_decide,
    referral_record,
)
from .selectors import clinic_named, for_staff, service_user_in_scope


def referrals_for_staff(user):
    return for_staff(Referral.objects, user).select_related("service_user", "agreement")


class ReferralSerializer(serializers.ModelSerializer):
    # Blank until a prescriber decides.
    decision = serializers.ChoiceField(
        choices=ReferralDecision.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Referral
        fields = [
            "id",
            "service_user",
            "clinic",
            "referred_by",
            "referral_date",
            "substance_use_history",
            "treatment_history",
            "risk_notes",
            "recorded_by",
            "recorded_at",
            "decision",
            "decision_reason",
            "advisory_reason",
            "decided_by",
            "decided_at",
            "priority",
            "offered_at",
            "admitted_at",
            "closed_at",
            "closed_reason",
        ]
        read_only_fields = fields


class PersonInput(StrictFieldsMixin, serializers.Serializer):
    nhs_number = serializers.CharField()
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    preferred_name = serializers.CharField(required=False, allow_blank=True, default="")
    date_of_birth = serializers.DateField()


class ReferralInput(StrictFieldsMixin, serializers.Serializer):
    clinic = serializers.IntegerField(
        required=False, help_text="Needed only by staff of more than one clinic."
    )
    service_user = serializers.IntegerField(
        required=False, help_text="To re-refer someone who left or was declined."
    )
    person = PersonInput(required=False, help_text="A new person; or give service_user.")
    referred_by = serializers.CharField()
    referral_date = serializers.DateField()
    substance_use_history = serializers.CharField()
    treatment_history = serializers.CharField()
    risk_flags = serializers.MultipleChoiceField(choices=Flag.choices, required=False, default=[])
    risk_notes = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if ("service_user" in attrs) == ("person" in attrs):
            raise serializers.ValidationError(
                {"person": ["Give either person (a new referral) or service_user (re-referral)."]}
            )
        return attrs


class DecideInput(StrictFieldsMixin, serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReferralDecision.choices)
    reason = serializers.CharField()
    advisory_reason = serializers.CharField(required=False, allow_blank=True, default="")
    priority = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3)


class ReferralViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Referrals. ?waiting=true lists the waiting list in its order (priority, then
    the date accepted)."""

    serializer_class = ReferralSerializer
    permission_classes = [ActionPermissions]
    filterset_fields = ["service_user", "clinic", "decision"]
    action_permissions = {
        "list": "eligibility.view_referral",
        "retrieve": "eligibility.view_referral",
        "create": "eligibility.add_referral",
        "decide": "eligibility.view_referral",  # decide_referral is checked after the lookup
    }

    def get_queryset(self):
        referrals = referrals_for_staff(self.request.user)
        if self.request.query_params.get("waiting") == "true":
            referrals = referrals.filter(WAITING).order_by(*WAITING_ORDER)
        return referrals

    @extend_schema(request=ReferralInput, responses={201: ReferralSerializer})
    def create(self, request, *args, **kwargs):
        def record(fields):
            if "service_user" in fields:
                person = service_user_in_scope(request.user, pk=fields.pop("service_user"))
                clinic = person.clinic
            else:
                person = None
                clinic = clinic_named(request.user, fields.pop("clinic", None))
            fields.pop("clinic", None)
            return referral_record(
                clinic=clinic,
                recorded_by=request.user,
                service_user=person,
                person=fields.pop("person", None),
                risk_flags=sorted(fields.pop("risk_flags")),
                **fields,
            )

        return self.act(ReferralInput, record, created=True)

    @extend_schema(request=DecideInput, responses={200: ReferralSerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """The prescriber accepts or declines, with a reason (prescribers only)."""
        referral = self.get_object()
        if not request.user.has_perm("eligibility.decide_referral", referral.clinic):
            raise PermissionDenied("Only prescribers decide eligibility.")
        return self.act(
            DecideInput,
            lambda fields: referral_decide(referral=referral, prescriber=request.user, **fields),
            answer=referral,
        )


class AnswerSerializer(serializers.ModelSerializer):
    class Meta:
        model = CriterionAnswer
        fields = ["criterion", "level", "met", "evidence"]


class EligibilityAssessmentSerializer(serializers.ModelSerializer):
    answers = AnswerSerializer(many=True, read_only=True)

    class Meta:
        model = EligibilityAssessment
        fields = ["id", "referral", "answers", "notes", "assessed_by", "assessed_at"]
        read_only_fields = fields


class AnswerInput(StrictFieldsMixin, serializers.Serializer):
    met = serializers.BooleanField()
    evidence = serializers.CharField(allow_blank=True)


class AssessmentInput(StrictFieldsMixin, serializers.Serializer):
    referral = serializers.IntegerField()
    answers = serializers.DictField(
        child=AnswerInput(),
        help_text="Per criterion of the clinic's checklist: {met, evidence}. Criteria: "
        + ", ".join(Criterion.values),
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class EligibilityAssessmentViewSet(
    ActsThroughServices,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = EligibilityAssessmentSerializer
    permission_classes = [ActionPermissions]
    filterset_fields = ["referral"]
    action_permissions = {
        "list": "eligibility.view_eligibilityassessment",
        "retrieve": "eligibility.view_eligibilityassessment",
        "create": "eligibility.add_eligibilityassessment",
    }

    def get_queryset(self):
        return for_staff(
            EligibilityAssessment.objects, self.request.user, clinic="referral__clinic"
        ).prefetch_related("answers")

    @extend_schema(request=AssessmentInput, responses={201: EligibilityAssessmentSerializer})
    def create(self, request, *args, **kwargs):
        def assess(fields):
            referral = get_object_or_404(referrals_for_staff(request.user), pk=fields["referral"])
            return eligibility_assess(
                referral=referral,
                assessed_by=request.user,
                answers={
                    code: (answer["met"], answer["evidence"])
                    for code, answer in fields["answers"].items()
                },
                notes=fields["notes"],
            )

        return self.act(AssessmentInput, assess, created=True)


class AdmitInput(StrictFieldsMixin, serializers.Serializer):
    agreement_signed_on = serializers.DateField()
    witness = serializers.CharField(help_text="The witnessing staff member's username.")

    @staticmethod
    def witness_named(username: str):
        return get_user_model().objects.filter(username=username).first()
