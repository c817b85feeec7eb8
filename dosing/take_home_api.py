"""API for take-home doses: ``GET take-home/eligibility/?service_user=ID`` answers the
clinic's criteria for one service user, each met or not with its evidence."""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import requires
from core.errors import RuleViolation, whole_number
from eligibility.access import What, access_record
from eligibility.selectors import service_user_in_scope

from .take_home_criteria import take_home_eligibility


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


def _query_number(request, name: str, message: str, *, required: bool) -> int | None:
    given = request.query_params.get(name, "")
    if not given and not required:
        return None
    try:
        return whole_number(given, field=name, minimum=1, maximum=2**31 - 1)
    except RuleViolation as refusal:
        raise RuleViolation(message, code=f"{name}_invalid", field=name) from refusal


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
    pk = _query_number(
        request, "service_user", "Name the service user: ?service_user=<id>.", required=True
    )
    per_week = _query_number(
        request, "doses_per_week", "Give the doses a week as a whole number from 1.", required=False
    )
    service_user = service_user_in_scope(request.user, pk=pk)
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
