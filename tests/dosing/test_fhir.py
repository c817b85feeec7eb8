"""The FHIR export (issue 9.5): fhir/MedicationAdministration?patient=ID gives a FHIR
R4 Bundle of UK Core MedicationAdministration resources, each of which validates
with fhir.resources: given injections completed with dose, route, site and
performer; doses not given not-done with a reason; a corrected injection
entered-in-error beside its replacement; the NHS number on the patient reference."""

import datetime as dt

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationadministration import MedicationAdministration

from dosing.amendments import session_amend
from dosing.missed import missed_sessions_scan
from dosing.room import session_decline, session_withhold
from tests.dosing.room_setup import give_dose
from tests.factories import PASSWORD, make_pharmacy_token
from tests.monitoring.scan_setup import london, people_on_prescription, schedule, session_of

MON, TUE = dt.date(2026, 2, 9), dt.date(2026, 2, 10)
URL = "/api/v1/fhir/MedicationAdministration"


@pytest.fixture
def history(cast):
    """Monday: AM given (60 mg, later corrected to 50 mg), PM withheld for sedation.
    Tuesday: AM declined, PM missed."""
    (person,) = people_on_prescription(cast, 1)
    schedule(cast, MON, TUE)
    give_dose(cast, session_of(person, MON, "AM"), london(MON, 9))
    session_amend(
        session=session_of(person, MON, "AM"),
        amended_by=cast.nurse,
        record="administration",
        changes={"injected_mg": "50"},
        reason="10 mg was wasted, not injected",
        sequence=1,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        now=london(MON, 12),
    )
    session_withhold(
        session=session_of(person, MON, "PM"),
        nurse=cast.nurse,
        reason="sedation",
        now=london(MON, 14),
    )
    session_decline(session=session_of(person, TUE, "AM"), nurse=cast.nurse, now=london(TUE, 9))
    missed_sessions_scan(now=london(TUE, 18))
    return person


def bundle_of(cast, person, who="nurse"):
    response = cast.client(who).get(URL, {"patient": person.pk})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/fhir+json")
    return response.json()


def test_the_bundle_and_every_resource_validate_as_fhir_r4(cast, history):
    body = bundle_of(cast, history)
    Bundle.model_validate(body)
    assert body["type"] == "searchset" and body["total"] == 5
    for entry in body["entry"]:
        resource = MedicationAdministration.model_validate(entry["resource"])
        assert resource.meta.profile == [
            "https://fhir.hl7.org.uk/StructureDefinition/UKCore-MedicationAdministration"
        ]
        assert entry["resource"]["subject"]["identifier"] == {
            "system": "https://fhir.nhs.uk/Id/nhs-number",
            "value": history.nhs_number,
        }


def test_each_session_is_there_with_its_status(cast, history):
    resources = [entry["resource"] for entry in bundle_of(cast, history)["entry"]]
    assert [r["status"] for r in resources] == [
        "entered-in-error",  # Monday AM as first recorded: 60 mg
        "completed",  # Monday AM as corrected: 50 mg
        "not-done",  # withheld
        "not-done",  # declined
        "not-done",  # missed
    ]
    first, given, withheld, declined, missed = resources
    assert first["dosage"]["dose"] == {
        "value": 60.0,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert given["dosage"]["dose"]["value"] == 50.0
    assert first["note"][0]["text"].endswith("10 mg was wasted, not injected")
    assert given["dosage"]["route"]["coding"][0]["code"] == "47625008"  # intravenous
    assert given["dosage"]["site"]["text"] == "Arm"
    assert given["effectiveDateTime"] == "2026-02-09T09:00:00+00:00"
    performers = {p["function"]["coding"][0]["code"]: p["actor"] for p in given["performer"]}
    assert performers["performer"]["reference"] == f"Practitioner/{cast.nurse.pk}"
    assert performers["witness"]["reference"] == f"Practitioner/{cast.hca.pk}"
    assert withheld["statusReason"][0]["text"] == "Withheld by staff: Sedated (POSS 3 or 4)"
    assert declined["statusReason"][0]["coding"][0]["code"] == "declined"
    assert missed["statusReason"][0]["coding"][0]["code"] == "missed"
    assert missed["effectivePeriod"] == {
        "start": "2026-02-10T13:00:00+00:00",
        "end": "2026-02-10T17:30:00+00:00",
    }


def test_the_patient_must_be_named_and_in_the_callers_clinics(cast, history):
    missing = cast.client("nurse").get(URL)
    assert (missing.status_code, missing.json()["code"]) == (400, "patient_required")
    assert cast.client("nurse_b").get(URL, {"patient": history.pk}).status_code == 404
    assert cast.client("nurse").get(URL, {"patient": 999999}).status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [("nurse", 200), ("hca", 200), ("prescriber", 200), ("manager", 200), (None, 403)],
)
def test_who_may_export(cast, history, who, status):
    assert cast.client(who).get(URL, {"patient": history.pk}).status_code == status


def test_an_integration_token_may_not_export(cast, history):
    _, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    response = Client().get(URL, {"patient": history.pk}, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403


def test_the_export_runs_fixed_queries(cast, history, django_assert_max_num_queries):
    """12 to read, and one INSERT into the access log (issue 16.8)."""
    client = cast.client("nurse")
    with django_assert_max_num_queries(14):
        assert client.get(URL, {"patient": history.pk}).json()["total"] == 5
    later = [TUE + dt.timedelta(days=n) for n in range(1, 11)]
    schedule(cast, *later)  # in re-titration now: each session missed
    missed_sessions_scan(now=london(later[-1], 18))
    with django_assert_max_num_queries(14):
        assert client.get(URL, {"patient": history.pk}).json()["total"] == 25
