"""dose-sessions/ and its actions: the dosing room through the API, same services,
same refusals as the browser."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from core.api import ActionPermissions, ActsThroughServices, StrictFieldsMixin
from eligibility.selectors import service_user_in_scope
from eligibility.settling import SettledReads

from .amendments import session_amend
from .assessment import session_assess
from .guest_selectors import people_dosed_by
from .models import (
    Administration,
    Amendment,
    Assessment,
    DoseSession,
    Observation,
    Poss,
    Route,
    SessionStatus,
    Site,
    WithholdReason,
)
from .room import dose_administer, session_decline, session_observe, session_withhold
from .selectors import dose_sessions_for_staff
from .sessions import session_unscheduled_add


class AssessmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assessment
        fields = [
            "sequence",
            "decision",
            "deferral_reason",
            "identity_confirmed",
            "poss",
            "breath_mcg_per_100ml",
            "caution_reason",
            "assessed_by",
            "assessed_at",
        ]


class AdministrationSerializer(serializers.ModelSerializer):
    waste_mg = serializers.DecimalField(max_digits=7, decimal_places=2, read_only=True)

    class Meta:
        model = Administration
        fields = [
            "sequence",
            "drawn_mg",
            "injected_mg",
            "waste_mg",
            "route",
            "site",
            "risk_discussion",
            "injected_at",
            "nurse",
            "witness",
            "recorded_at",
        ]


class ObservationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Observation
        exclude = ["id", "session"]


class AmendInput(StrictFieldsMixin, serializers.Serializer):
    record = serializers.ChoiceField(choices=Amendment.Record.choices)
    sequence = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="For an injection: 1 first, 2 top-up. For an assessment: its number "
        "(a deferred session has several); the latest when left out.",
    )
    changes = serializers.DictField(help_text='Corrected values, e.g. {"injected_mg": "50"}.')
    reason = serializers.CharField()
    witness_username = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=150,
        help_text="A correction of an injection is witnessed: the witness's username.",
    )
    witness_password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        style={"input_type": "password"},
        trim_whitespace=False,
        help_text="The witness's own password.",
    )


class AmendmentSerializer(serializers.ModelSerializer):
    sequence = serializers.IntegerField(
        source="administration.sequence", read_only=True, allow_null=True
    )

    class Meta:
        model = Amendment
        fields = [
            "record",
            "sequence",
            "changes",
            "reason",
            "amended_by",
            "witness",
            "amended_at",
        ]


class PrescriptionInForceSerializer(serializers.Serializer):
    """The prescription version the server enforces for the session's dose if it is
    given now (at the window's opening before it, its closing after)."""

    id = serializers.IntegerField(source="prescription_in_force_id")
    version = serializers.IntegerField(source="prescription_version")
    dose_mg = serializers.DecimalField(
        max_digits=7, decimal_places=2, allow_null=True, help_text="This slot's dose."
    )


class DoseSessionSerializer(serializers.ModelSerializer):
    assessment = AssessmentSerializer(
        read_only=True, allow_null=True, help_text="The latest assessment, the one that decided."
    )
    assessments = AssessmentSerializer(
        many=True, read_only=True, help_text="Every assessment, a deferred session's included."
    )
    prescription = serializers.SerializerMethodField()
    administrations = AdministrationSerializer(many=True, read_only=True)
    observation = ObservationSerializer(read_only=True, allow_null=True)
    amendments = AmendmentSerializer(many=True, read_only=True)
    consecutive_not_taken = serializers.IntegerField(
        source="service_user.consecutive_not_taken",
        read_only=True,
        help_text="The person's sessions not taken in a row, wherever they were.",
    )
    flags = serializers.ListField(
        source="service_user.flags",
        child=serializers.CharField(),
        read_only=True,
        help_text="The person's risk flags.",
    )

    class Meta:
        model = DoseSession
        fields = [
            "id",
            "service_user",
            "consecutive_not_taken",
            "flags",
            "clinic",
            "guest_stay",
            "clinic_day",
            "slot_code",
            "opens_at",
            "closes_at",
            "status",
            "status_changed_at",
            "outcome_reason",
            "outcome_note",
            "prescription",
            "assessment",
            "assessments",
            "administrations",
            "observation",
            "amendments",
            "observation_due_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PrescriptionInForceSerializer(allow_null=True))
    def get_prescription(self, session):
        if getattr(session, "prescription_in_force_id", None) is None:
            return None
        return PrescriptionInForceSerializer(session).data


class AssessInput(StrictFieldsMixin, serializers.Serializer):
    identity_confirmed = serializers.BooleanField()
    poss = serializers.ChoiceField(choices=Poss.choices)
    breath_mcg_per_100ml = serializers.DecimalField(
        max_digits=6, decimal_places=1, required=False, allow_null=True
    )
    caution_reason = serializers.CharField(required=False, allow_blank=True, default="")
    defer = serializers.BooleanField(
        default=False,
        help_text="At a caution or POSS 3-4: defer the dose and reassess later in the window "
        "(the session becomes deferred) instead of withholding it.",
    )


class AdministerInput(StrictFieldsMixin, serializers.Serializer):
    drawn_mg = serializers.CharField()
    injected_mg = serializers.CharField()
    route = serializers.ChoiceField(choices=Route.choices)
    site = serializers.ChoiceField(choices=Site.choices)
    risk_discussion = serializers.CharField(required=False, allow_blank=True, default="")
    injected_at = serializers.DateTimeField(required=False, allow_null=True)
    topup = serializers.BooleanField(default=False)
    prescription = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**62,
        help_text="The prescription version the caller showed (the session's "
        "`prescription.id`). If another came into force since, the dose is refused with code "
        "prescription_changed, naming the new dose.",
    )
    witness_username = serializers.CharField(max_length=150)
    witness_password = serializers.CharField(
        style={"input_type": "password"}, trim_whitespace=False
    )


class WithholdInput(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.ChoiceField(choices=WithholdReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DeclineInput(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ObserveInput(StrictFieldsMixin, serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Observation.Outcome.choices)
    details = serializers.CharField(required=False, allow_blank=True, default="")
    over_sedation = serializers.BooleanField(default=False)
    overdose = serializers.BooleanField(default=False)
    naloxone_mg = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    naloxone_at = serializers.DateTimeField(required=False, allow_null=True)
    ambulance_called = serializers.BooleanField(default=False)


class DosedHereFilter(django_filters.ModelChoiceFilter):
    """A service user of the caller's clinics, or a guest dosed at one of them: the
    host's staff find a guest's sessions by the person's id too."""

    scoped_by_its_queryset = True


class DoseSessionFilter(django_filters.FilterSet):
    date = django_filters.DateFilter(field_name="clinic_day")
    service_user = DosedHereFilter(queryset=lambda request: people_dosed_by(request.user))
    slot = django_filters.CharFilter(field_name="slot_code", lookup_expr="iexact")
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)

    class Meta:
        model = DoseSession
        fields = ["date", "slot", "service_user", "status"]


class UnscheduledSessionInput(StrictFieldsMixin, serializers.Serializer):
    service_user = serializers.IntegerField()
    slot_code = serializers.CharField(max_length=12)
    reason = serializers.CharField(max_length=500)


class DoseSessionViewSet(
    ActsThroughServices,
    SettledReads,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Dose sessions, filterable by ?date=YYYY-MM-DD&slot=AM&service_user=ID&status=."""

    serializer_class = DoseSessionSerializer
    permission_classes = [ActionPermissions]
    filterset_class = DoseSessionFilter
    action_permissions = {
        "list": "dosing.view_dosesession",
        "retrieve": "dosing.view_dosesession",
        "create": "dosing.prescribe",
        "assess": "dosing.assess",
        "administer": "dosing.administer",
        "withhold": "dosing.administer",
        "decline": "dosing.administer",
        "observe": "dosing.observe",
        "amend": "dosing.amend",
    }

    def get_queryset(self):
        return dose_sessions_for_staff(self.request.user)

    @extend_schema(request=UnscheduledSessionInput, responses={201: DoseSessionSerializer})
    def create(self, request):
        """An unscheduled session for today, by a prescriber (docs/api.md)."""

        def add(fields):
            person = service_user_in_scope(request.user, pk=fields.pop("service_user"))
            return session_unscheduled_add(service_user=person, prescriber=request.user, **fields)

        return self.act(UnscheduledSessionInput, add, created=True)

    @extend_schema(request=AssessInput, responses={200: DoseSessionSerializer})
    @action(detail=True, methods=["post"])
    def assess(self, request, pk=None):
        """Pre-dose assessment. POSS 3-4 or breath at the withhold threshold withholds."""
        session = self.get_object()
        return self.act(
            AssessInput,
            lambda fields: session_assess(session=session, nurse=request.user, **fields),
            answer=session,
        )

    @extend_schema(request=AdministerInput, responses={200: DoseSessionSerializer})
    @action(detail=True, methods=["post"])
    def administer(self, request, pk=None):
        """One witnessed injection (topup=true for a top-up). 409 if already recorded."""
        session = self.get_object()
        return self.act(
            AdministerInput,
            lambda fields: dose_administer(session=session, nurse=request.user, **fields),
            answer=session,
        )

    @extend_schema(request=WithholdInput, responses={200: DoseSessionSerializer})
    @action(detail=True, methods=["post"])
    def withhold(self, request, pk=None):
        session = self.get_object()
        return self.act(
            WithholdInput,
            lambda fields: session_withhold(session=session, nurse=request.user, **fields),
            answer=session,
        )

    @extend_schema(request=DeclineInput, responses={200: DoseSessionSerializer})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        session = self.get_object()
        return self.act(
            DeclineInput,
            lambda fields: session_decline(session=session, nurse=request.user, **fields),
            answer=session,
        )

    @extend_schema(request=ObserveInput, responses={200: DoseSessionSerializer})
    @action(detail=True, methods=["post"])
    def observe(self, request, pk=None):
        session = self.get_object()
        return self.act(
            ObserveInput,
            lambda fields: session_observe(session=session, observer=request.user, **fields),
            answer=session,
        )

    @extend_schema(request=AmendInput, responses={200: DoseSessionSerializer})
    @action(detail=True, methods=["post"])
    def amend(self, request, pk=None):
        """Correct a record by a dated amendment. The original is kept and stays visible."""
        session = self.get_object()
        return self.act(
            AmendInput,
            lambda fields: session_amend(session=session, amended_by=request.user, **fields),
            answer=session,
        )
