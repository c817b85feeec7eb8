"""A service user's doses as FHIR R4 MedicationAdministration resources, following the
UK Core profile, in a searchset Bundle (docs/api.md: fhir/MedicationAdministration).

- An injection given is ``completed``: the dose injected, route, site, when, and the
  nurse as performer with the witness beside them.
- A session withheld, declined, missed or excused is ``not-done``, with a
  ``statusReason`` and the session's window as its effective period.
- An injection corrected by amendment appears as each version it had: the earlier
  ones ``entered-in-error``, the one that stands now ``completed``, each with a
  note of the correction.
- The patient reference carries the NHS number.

Sessions still open (scheduled or assessed) have not happened yet and are left out.
"""

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import query_number, requires
from eligibility.access import What, access_record
from eligibility.models import ServiceUser
from eligibility.selectors import service_user_in_scope

from .amendments import AMENDABLE, effective_values
from .models import (
    DIAMORPHINE,
    Administration,
    Amendment,
    DoseSession,
    Route,
    SessionStatus,
    Site,
    WithholdReason,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from rest_framework.request import Request

PROFILE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationAdministration"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
PERFORM_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ROUTES = {  # SNOMED CT route of administration
    Route.IV: ("47625008", "Intravenous route"),
    Route.IM: ("78421000", "Intramuscular route"),
}
# This clinic system's own codes for why a session's dose was not given (the
# session statuses of docs/api.md), under the site's address.
NOT_GIVEN_PATH = "/fhir/CodeSystem/dose-not-given"
NOT_DONE = {
    SessionStatus.WITHHELD: "Withheld by staff",
    SessionStatus.DECLINED: "Declined by the service user",
    SessionStatus.MISSED: "Missed: the window closed without attendance",
    SessionStatus.EXCUSED: "Excused (absence agreed, suspension, exit or closure)",
}
ENDED = [SessionStatus.ADMINISTERED, SessionStatus.OBSERVED, *NOT_DONE]
FIELDS = AMENDABLE[Amendment.Record.ADMINISTRATION]


def _instant(value: dt.datetime) -> str:
    return value.isoformat()


def _person(user: "User") -> str:
    return user.get_full_name() or user.username


def _subject(service_user: ServiceUser) -> dict[str, Any]:
    return {
        "reference": f"Patient/{service_user.pk}",
        "identifier": {"system": NHS_NUMBER, "value": service_user.nhs_number},
    }


def _given(
    session: DoseSession,
    administration: Administration,
    values: dict[str, str],
    *,
    status: str,
    version_id: str,
    note: str | None,
) -> dict[str, Any]:
    route = Route(values["route"])
    code, display = ROUTES[route]
    resource = {
        "resourceType": "MedicationAdministration",
        "id": version_id,
        "meta": {"profile": [PROFILE]},
        "status": status,
        "medicationCodeableConcept": {"text": DIAMORPHINE.capitalize()},
        "subject": _subject(session.service_user),
        "effectiveDateTime": _instant(
            values["injected_at"]
            if isinstance(values["injected_at"], dt.datetime)
            else dt.datetime.fromisoformat(values["injected_at"])
        ),
        "performer": [
            {
                "function": {"coding": [{"system": PERFORM_FUNCTION, "code": "performer"}]},
                "actor": {
                    "reference": f"Practitioner/{administration.nurse_id}",
                    "display": _person(administration.nurse),
                },
            },
            {
                "function": {"coding": [{"system": PERFORM_FUNCTION, "code": "witness"}]},
                "actor": {
                    "reference": f"Practitioner/{administration.witness_id}",
                    "display": _person(administration.witness),
                },
            },
        ],
        "dosage": {
            "text": "Top-up injection" if administration.sequence == 2 else "Supervised injection",
            "site": {"text": Site(values["site"]).label},
            "route": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
            "dose": {
                "value": float(Decimal(str(values["injected_mg"]))),
                "unit": "mg",
                "system": UCUM,
                "code": "mg",
            },
        },
    }
    if note:
        resource["note"] = [{"text": note}]
    return resource


def _not_done(session: DoseSession) -> dict[str, Any]:
    status = SessionStatus(session.status)
    text = NOT_DONE[status]
    if status == SessionStatus.WITHHELD and session.outcome_reason in WithholdReason.values:
        text = f"{text}: {WithholdReason(session.outcome_reason).label}"
    resource = {
        "resourceType": "MedicationAdministration",
        "id": f"session-{session.pk}",
        "meta": {"profile": [PROFILE]},
        "status": "not-done",
        "statusReason": [
            {
                "coding": [{"system": settings.SITE_URL + NOT_GIVEN_PATH, "code": status.value}],
                "text": text,
            }
        ],
        "medicationCodeableConcept": {"text": DIAMORPHINE.capitalize()},
        "subject": _subject(session.service_user),
        "effectivePeriod": {
            "start": _instant(session.opens_at),
            "end": _instant(session.closes_at),
        },
    }
    if session.outcome_by_id:
        resource["performer"] = [
            {
                "function": {"coding": [{"system": PERFORM_FUNCTION, "code": "performer"}]},
                "actor": {
                    "reference": f"Practitioner/{session.outcome_by_id}",
                    "display": _person(session.outcome_by),  # type: ignore[arg-type]
                },
            }
        ]
    return resource


def _injection(
    session: DoseSession, administration: Administration, amendments: list[Amendment]
) -> list[dict[str, Any]]:
    """An injection as it stands (completed), after each earlier version of it as
    first recorded and as corrected (entered-in-error), oldest first."""
    resources = []
    for number, correction in enumerate(amendments):
        resources.append(
            _given(
                session,
                administration,
                effective_values(administration, amendments[:number], FIELDS),
                status="entered-in-error",
                version_id=f"injection-{administration.pk}-v{number + 1}",
                note=f"Corrected on {correction.amended_at:%Y-%m-%d}: {correction.reason}",
            )
        )
    plural = "s" if len(amendments) > 1 else ""
    resources.append(
        _given(
            session,
            administration,
            effective_values(administration, amendments, FIELDS),
            status="completed",
            version_id=f"injection-{administration.pk}",
            note=(
                f"Corrected record ({len(amendments)} amendment{plural}); the earlier "
                "versions are entered-in-error."
                if amendments
                else None
            ),
        )
    )
    return resources


def medication_administrations(service_user: ServiceUser) -> list[dict[str, Any]]:
    """Every ended session of the person as resources, oldest first. Three queries."""
    sessions = (
        DoseSession.objects.filter(service_user=service_user, status__in=ENDED)
        .select_related("outcome_by")
        .prefetch_related(
            Prefetch(
                "administrations",
                queryset=Administration.objects.select_related("nurse", "witness").order_by(
                    "sequence"
                ),
            ),
            Prefetch(
                "amendments",
                queryset=Amendment.objects.filter(record=Amendment.Record.ADMINISTRATION).order_by(
                    "amended_at", "pk"
                ),
            ),
        )
        .order_by("opens_at")
    )
    resources = []
    for session in sessions:
        session.service_user = service_user
        if session.status not in (SessionStatus.ADMINISTERED, SessionStatus.OBSERVED):
            resources.append(_not_done(session))
            continue
        for administration in session.administrations.all():
            amendments = [
                a for a in session.amendments.all() if a.administration_id == administration.pk
            ]
            resources += _injection(session, administration, amendments)
    return resources


def medication_administration_bundle(service_user: ServiceUser, *, base_url: str) -> dict[str, Any]:
    resources = medication_administrations(service_user)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{base_url}/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }


@extend_schema(
    operation_id="fhir_medication_administration_search",
    parameters=[
        OpenApiParameter("patient", int, required=True, description="The service user's id.")
    ],
    responses={200: dict},
)
@api_view(["GET"])
@permission_classes([requires("dosing.view_dosesession")])
def fhir_medication_administration(request: "Request") -> Response:
    """FHIR R4 searchset Bundle (UK Core MedicationAdministration) of a service
    user's ended dose sessions: injections given, doses not given with the reason,
    and corrected records as entered-in-error beside their replacement."""
    pk = query_number(
        request,
        "patient",
        message="Name the service user: ?patient=<id>.",
        code="patient_required",
        maximum=2**63 - 1,
    )
    service_user = service_user_in_scope(request.user, pk=pk)
    access_record(request, What.FHIR_EXPORT, service_user=service_user, export="FHIR R4")
    bundle = medication_administration_bundle(
        service_user,
        base_url=request.build_absolute_uri("/api/v1/fhir/MedicationAdministration"),
    )
    return Response(bundle, content_type="application/fhir+json")
