"""No 500 from anything a client can send (issue 14.2).

Services turn a bad value into a RuleViolation that names its field, never a
ValueError, OverflowError or DataError; the dashboards and the timeline refuse dates
outside the calendar's reach with a 400; the API answers a number of 10**20 in a
path, a filter or a JSON field, and JSON nested 5,000 deep, with a 4xx in JSON; and
an API error that nothing caught is a JSON 500 too, logged with its traceback.
The HTML forms are fuzzed by tests/fuzz/test_form_fuzz.py."""

import datetime as dt
import json
import logging
from decimal import Decimal

import pytest
from django.urls import path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from alerts.models import Alert
from dosing.dose_rules import observation_check
from dosing.exit_plans import reducing_plan_create, service_closure_record
from dosing.leaving import service_user_exit, suspension_start
from dosing.mg import parse_mg
from dosing.models import Observation, RegisterEntry, RegisterSection
from dosing.register import register_receive, register_record
from eligibility.pathway import eligibility_assess, referral_decide
from hat_clinic.urls import urlpatterns as app_urlpatterns
from tests.eligibility.pathway_setup import all_met, assess, refer
from tests.factories import PASSWORD, StaffClient
from tests.hat_clinic.api_setup import MON, NOW, ROUTES, client_for, path_for
from tests.hat_clinic.test_api_matrix import EXPECTED
from tests.helpers import refused

BIG = 10**20
TODAY = timezone.localdate()


def _actor(name, method):
    """Someone who may make this request: a person if any may, else the token."""
    allowed = EXPECTED[name, method]
    return next((who for who in allowed if who != "token"), "token")


def _json_error(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert "json" in response["Content-Type"], response["Content-Type"]
    return response.json()


# Services: a bad value is a refusal that names its field.


def test_a_suspension_of_no_kind_or_an_unknown_one_names_the_kind(cast, service_user_a):
    for kind in ("", "holiday", None):
        refusal = refused(
            "choice_invalid",
            suspension_start,
            service_user=service_user_a,
            kind=kind,
            starts_on=TODAY,
            reason="Admitted",
            recorded_by=cast.nurse,
        )
        assert refusal.field == "kind"


def test_an_exit_of_an_unknown_kind_or_detail_names_the_field(cast, service_user_a):
    base = {
        "service_user": service_user_a,
        "reason": "Leaving",
        "exited_on": TODAY,
        "recorded_by": cast.prescriber,
    }
    assert (
        refused("choice_invalid", service_user_exit, kind="gone", detail="moved_away", **base).field
        == "kind"
    )
    assert (
        refused("choice_invalid", service_user_exit, kind="planned", detail="", **base).field
        == "detail"
    )


def test_a_decision_that_is_neither_accept_nor_decline_names_the_decision(cast):
    referral = refer(cast, now=NOW)
    assess(cast, referral, now=NOW)
    refusal = refused(
        "choice_invalid",
        referral_decide,
        referral=referral,
        prescriber=cast.prescriber,
        decision="maybe",
        reason="Unsure",
        now=NOW,
    )
    assert refusal.field == "decision"


def test_an_assessment_refusal_names_the_answer_at_fault(cast):
    referral = refer(cast, now=NOW)
    no_evidence = refused(
        "evidence_missing",
        eligibility_assess,
        referral=referral,
        assessed_by=cast.nurse,
        answers=all_met(injecting=(True, " ")),
        now=NOW,
    )
    assert no_evidence.field == "answers.injecting.evidence"
    wrong_age = refused(
        "age_contradicts_date_of_birth",
        eligibility_assess,
        referral=referral,
        assessed_by=cast.nurse,
        answers=all_met(adult=(False, "Looked young")),
        now=NOW,
    )
    assert wrong_age.field == "answers.adult.met"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("1e308", "amount_too_large"),
        (str(BIG), "amount_too_large"),
        ("-1e308", "dose_not_positive"),
        ("NaN", "dose_not_a_number"),
        ("Infinity", "dose_not_a_number"),
        ("100000.00", "amount_too_large"),
        ("abc", "dose_not_a_number"),
    ],
)
def test_milligrams_too_large_to_round_or_to_store_are_refused_naming_the_field(typed, code):
    assert refused(code, parse_mg, value=typed, field="drawn_mg").field == "drawn_mg"


def test_the_largest_dose_a_column_holds_is_accepted():
    assert parse_mg("99999.99", field="drawn_mg") == Decimal("99999.99")


def test_register_entries_refuse_unknown_kinds_huge_counts_and_a_correction_of_nothing(
    cast, records
):
    section = RegisterSection.objects.get(clinic=cast.clinic_a)
    unknown = refused(
        "choice_invalid", register_record, section=section, kind="gift", by=cast.nurse
    )
    assert unknown.field == "kind"
    huge = refused(
        "quantity_invalid",
        register_receive,
        section=section,
        ampoules=BIG,
        supplier_name="Wholesale Pharma Ltd",
        supplier_address="1 Industrial Way",
        batch="B2",
        expiry=TODAY + dt.timedelta(days=365),
        received_by=cast.nurse,
    )
    assert huge.field == "ampoules"
    count = refused(
        "amount_too_large",
        register_record,
        section=section,
        kind="stock_check",
        by=cast.nurse,
        counted_mg="1e308",
    )
    assert count.field == "counted_mg"
    nothing = refused(
        "field_required", register_record, section=section, kind="correction", by=cast.nurse
    )
    assert nothing.field == "corrects"
    none = refused(
        "no_such_entry",
        register_record,
        section=section,
        kind="correction",
        by=cast.nurse,
        corrects=None,
        note="Wrong batch",
    )
    assert none.field == "corrects"
    no_quantity = refused(
        "field_required", register_record, section=section, kind="waste", by=cast.nurse
    )
    assert no_quantity.field == "ampoules"
    assert not RegisterEntry.objects.filter(section=section, kind="stock_check").exists()


def test_adverse_signs_with_any_outcome_but_an_adverse_event_are_refused_naming_the_outcome():
    refusal = refused(
        "adverse_event_marked_no_concerns",
        observation_check,
        outcome=Observation.Outcome.LEFT_EARLY,
        details="",
        over_sedation=False,
        overdose=False,
        naloxone_mg=Decimal("0.4"),
        naloxone_at=dt.datetime(2026, 2, 10, 15, 20, tzinfo=dt.UTC),
        ambulance_called=False,
    )
    assert refusal.field == "outcome"


def test_a_closure_or_an_exit_plan_too_far_ahead_for_weekly_steps_is_refused(cast, service_user_a):
    closure = refused(
        "closure_too_far",
        service_closure_record,
        clinic=cast.clinic_a,
        closes_on=dt.date(9999, 12, 31),
        recorded_by=cast.manager,
        reason="Funding ends",
    )
    assert closure.field == "closes_on"
    plan = refused(
        "plan_too_far",
        reducing_plan_create,
        service_user=service_user_a,
        created_by=cast.prescriber,
        weekly_reduction_percent="10",
        starts_at=dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC),
        reason="Planned exit",
    )
    assert plan.field == "starts_at"


# The pages: the dashboards and the timeline at the calendar's ends.

DASHBOARD_PAGES = ["attendance", "retention", "outcomes", "workload"]
OUT_OF_REACH = [
    ("from", "0001-01-01"),
    ("to", "0001-01-01"),
    ("from", "9999-12-31"),
    ("to", "9999-12-31"),
    ("to", "2026-02-30"),
    ("clinic", "²"),
    ("clinic", "1e308"),
]


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
@pytest.mark.parametrize(("name", "value"), OUT_OF_REACH)
def test_a_dashboard_page_refuses_a_date_out_of_reach_beside_its_filter(cast, page, name, value):
    response = cast.client("manager").get(f"/dashboards/{page}/", {name: value})
    assert response.status_code == 400
    html = response.content.decode()
    field = next(tag for tag in html.split("<") if f'name="{name}"' in tag)
    assert 'aria-invalid="true"' in field, field
    assert 'id="filter-error"' in html


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
@pytest.mark.parametrize(("name", "value"), OUT_OF_REACH)
def test_a_dashboard_api_refuses_a_date_out_of_reach_naming_it(cast, page, name, value):
    response = cast.client("manager").get(f"/api/v1/dashboard/{page}/", {name: value})
    assert _json_error(response, 400)["field"] == name


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
def test_a_dashboard_of_a_clinic_numbered_beyond_any_is_a_404(cast, page):
    client = cast.client("manager")
    for clinic in (str(BIG), str(-BIG), "-1"):
        assert client.get(f"/dashboards/{page}/", {"clinic": clinic}).status_code == 404
        _json_error(client.get(f"/api/v1/dashboard/{page}/", {"clinic": clinic}), 404)


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
def test_a_dashboard_still_answers_for_the_first_and_last_days_it_allows(cast, page):
    client = cast.client("manager")
    for start, end in [("2000-01-01", "2000-02-01"), ("2099-12-01", "2099-12-31")]:
        assert client.get(f"/dashboards/{page}/", {"from": start, "to": end}).status_code == 200
        assert client.get(f"/api/v1/dashboard/{page}/", {"from": start, "to": end}).json()


@pytest.mark.parametrize(
    "before",
    [
        "yesterday",
        "2026-02-30T10:00",
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "2026-02-09T25:00",
        "\x00",
    ],
)
def test_the_timeline_refuses_a_before_that_is_not_its_own_and_shows_the_newest(
    cast, records, before
):
    person = records["person"]
    response = cast.client("nurse").get(f"/service-users/{person.pk}/timeline/", {"before": before})
    assert response.status_code == 400
    assert "the newest events are shown" in response.content.decode()
    assert response.context["events"], "the newest events"


def test_the_timeline_pages_back_from_the_instant_it_gave(cast, records):
    person = records["person"]
    client = cast.client("nurse")
    newest = client.get(f"/service-users/{person.pk}/timeline/").context["events"]
    older = client.get(
        f"/service-users/{person.pk}/timeline/", {"before": newest[0].at.isoformat()}
    )
    assert older.status_code == 200
    assert all(event.at < newest[0].at for event in older.context["events"])


def test_switching_to_a_clinic_numbered_beyond_any_is_a_404(cast):
    client = cast.client("manager")
    for clinic in (str(BIG), "-1", "abc", "\x00"):
        assert client.post("/clinic/switch/", {"clinic": clinic}).status_code == 404


# The small forms beside buttons: refusals show beside their field.


def test_stopping_a_plan_without_a_reason_shows_the_refusal_beside_the_reason(cast, service_user_a):
    plan = reducing_plan_create(
        service_user=service_user_a,
        created_by=cast.prescriber,
        weekly_reduction_percent="10",
        starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7),
        reason="Planned exit",
        activate=False,
    )
    client = cast.client("prescriber")
    for reason in ("", "a\x00b"):
        response = client.post(f"/exit-plans/{plan.pk}/cancel/", {"reason": reason})
        assert response.status_code == 400
        html = response.content.decode()
        assert 'aria-invalid="true" aria-describedby="refused"' in html
    plan.refresh_from_db()
    assert plan.state == plan.State.DRAFT


def test_acknowledging_with_a_note_the_database_cannot_keep_names_the_note(cast, records):
    alert = Alert.objects.filter(clinic=cast.clinic_a, acknowledged_at__isnull=True).first()
    response = cast.client("nurse").post(f"/alerts/{alert.pk}/acknowledge/", {"note": "a\x00b"})
    assert response.status_code == 400
    assert f'id="note-{alert.pk}" name="note"' in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    alert.refresh_from_db()
    assert alert.is_open


def test_a_tox_screen_with_nothing_tested_is_refused_beside_the_first_result(cast, records):
    response = cast.client("nurse").post(
        f"/service-users/{records['person'].pk}/tox-screens/new/", {"sample_date": MON}
    )
    assert response.status_code == 400
    field = response.context["form"].result_fields[0]
    assert field.errors and 'aria-invalid="true"' in str(field)


def test_an_assessment_without_evidence_is_refused_beside_that_evidence(cast):
    referral = refer(cast, now=NOW)
    answers = {f"met_{code}": "yes" for code in all_met()}
    answers |= {f"evidence_{code}": "Seen" for code in all_met()} | {"evidence_injecting": ""}
    response = cast.client("nurse").post(f"/referrals/{referral.pk}/assess/", answers)
    assert response.status_code == 400
    form = response.context["assess_form"]
    assert form["evidence_injecting"].errors
    assert 'aria-invalid="true"' in str(form["evidence_injecting"])


def test_a_correction_of_an_entry_numbered_beyond_any_is_refused_beside_the_number(cast, records):
    section = RegisterSection.objects.get(clinic=cast.clinic_a)
    response = cast.client("nurse").post(
        f"/register/{section.pk}/correction/", {"entry": str(BIG), "note": "Wrong batch"}
    )
    assert response.status_code == 400
    assert response.context["form"]["entry"].errors


# The API: huge numbers, deep JSON, and a JSON answer for every error.


def _schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


SCHEMA = _schema()
PK_ROUTES = [(name, method, route) for name, method, route in ROUTES if "(?P<pk>" in route]


@pytest.mark.parametrize(
    ("name", "method", "route"), PK_ROUTES, ids=[f"{n}-{m}" for n, m, _ in PK_ROUTES]
)
def test_a_huge_id_in_the_path_is_a_json_404(cast, records, name, method, route):
    client = client_for(cast, _actor(name, method), records)
    address = path_for(name, route, records).replace(
        f"/{records['ids'][_prefix(name, records)]}/", f"/{BIG}/"
    )
    response = getattr(client, method)(address, {}, content_type="application/json")
    _json_error(response, 404)


def _prefix(name, records):
    return next(p for p in sorted(records["ids"], key=len, reverse=True) if name.startswith(p))


def _operations(method):
    for address, operations in SCHEMA["paths"].items():
        if method in operations:
            yield address, operations[method]


FILTERS = [
    (address, parameter["name"])
    for address, operation in _operations("get")
    for parameter in operation.get("parameters", [])
    if parameter["in"] == "query" and parameter["name"] not in ("format", "page")
]


@pytest.mark.parametrize(("address", "name"), FILTERS, ids=[f"{a}?{n}" for a, n in FILTERS])
def test_a_huge_number_in_any_filter_is_answered_in_json_without_a_server_error(
    cast, records, address, name
):
    client = cast.client("manager" if "dashboard" in address else "nurse")
    for value in (str(BIG), "-1", "1e308", "\x00", "²"):
        response = client.get(address, {name: value})
        assert response.status_code < 500, (value, response.content[:300])
        assert "json" in response["Content-Type"]


def _resolve(schema):
    while "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        return _resolve(schema["allOf"][0])
    return schema


def _candidates(name, schema, ids) -> list:
    """Values that would pass for the property, the likeliest first."""
    schema = _resolve(schema)
    if "enum" in schema:
        return [v for v in schema["enum"] if v not in (None, "")]
    kind, shape = schema.get("type"), schema.get("format")
    now = timezone.now()
    if kind == "integer":
        return [ids.get(name, 1), 2, 10]
    if kind == "number":
        return [1, 10]
    if kind == "boolean":
        return [False, True]
    if kind in ("array", "object"):
        return [[] if kind == "array" else {}]
    if shape == "date":
        return [TODAY.isoformat(), (TODAY + dt.timedelta(days=365)).isoformat(), "1980-05-01"]
    if shape == "date-time":
        return [(now + dt.timedelta(days=days)).isoformat() for days in (0, 7, -1)]
    if name == "witness_username":
        return ["hca_a", "nurse_a"]
    if name == "witness_password":
        return [PASSWORD]
    return ["10", "60", "A note"]


def _plausible_body(client, target, candidates) -> dict:
    """A body with each field on its first candidate, moving each field a refusal
    names on to its next, so that a garbage value in another field reaches the
    service rather than being stopped by this one."""
    chosen = dict.fromkeys(candidates, 0)
    for _ in range(6):
        body = {field: candidates[field][index] for field, index in chosen.items()}
        answer = client.post(target, body, content_type="application/json")
        named = answer.json() if "json" in answer["Content-Type"] else {}
        faulty = [named["field"]] if "field" in named else list(named)
        moved = [f for f in faulty if f in chosen and chosen[f] + 1 < len(candidates[f])]
        for field in moved:
            chosen[field] += 1
        if answer.status_code != 400 or not moved:
            return body
    return body


# The photo's route takes a file, not JSON (tests/eligibility/test_record.py).
POSTS = [
    (name, route)
    for name, method, route in ROUTES
    if method == "post" and name != "service-user-photo-upload"
]
EXTREME_DATES = {
    "date": ["0001-01-01", "9999-12-31", "2026-02-30"],
    "date-time": ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-02-30T09:00Z"],
}


@pytest.mark.parametrize(("name", "route"), POSTS, ids=[name for name, _ in POSTS])
def test_a_huge_number_in_any_json_field_is_answered_in_json_without_a_server_error(
    cast, records, name, route
):
    """Each field in turn, the others plausible so that the value reaches the service,
    and the calendar's ends in each date field. A note may say 10**20; what matters
    is that nothing breaks on the way to the database (an OverflowError on SQLite, a
    DataError on PostgreSQL)."""
    address = "/" + route.replace("(?P<pk>[^/.]+)", "{id}").replace("^", "").replace("$", "")
    body = SCHEMA["paths"][address]["post"].get("requestBody")
    schema = _resolve(body["content"]["application/json"]["schema"]) if body else {}
    ids = {
        "service_user": records["person"].pk,
        "referral": records["ids"]["referral"],
        "section": RegisterSection.objects.get(clinic=cast.clinic_a).pk,
        "corrects": records["ids"]["cd-register"],
        "pharmacy": records["person"].methadone_prescriptions.first().pharmacy_id,
        "clinic": cast.clinic_a.pk,
    }
    properties = {
        field: spec
        for field, spec in schema.get("properties", {}).items()
        if not spec.get("readOnly")
    }
    client = client_for(cast, _actor(name, "post"), records)
    target = path_for(name, route, records)
    base = _plausible_body(
        client, target, {field: _candidates(field, spec, ids) for field, spec in properties.items()}
    )
    for field in base or ["anything"]:
        shape = _resolve(properties.get(field, {})).get("format")
        for value in (BIG, -BIG, 1e308, str(BIG), *EXTREME_DATES.get(shape, ())):
            response = client.post(target, {**base, field: value}, content_type="application/json")
            assert response.status_code < 500, (field, value, response.content[:300])
            assert "json" in response["Content-Type"], (field, value)


@pytest.mark.parametrize("depth", [5_000, 1_000, 33])
def test_json_nested_too_deeply_is_a_json_400(cast, depth):
    client = cast.client("nurse")
    deep = "[" * depth + "]" * depth
    for body in (deep, f'{{"service_user": 1, "notes": {deep}}}'):
        response = client.post("/api/v1/tox-screens/", body, content_type="application/json")
        assert "nested" in _json_error(response, 400)["detail"]


def test_json_as_deep_as_the_api_needs_is_read(cast):
    body = json.dumps({"service_user": "x", "results": [[[[{"a": 1}]]]]})
    response = cast.client("nurse").post(
        "/api/v1/tox-screens/", body, content_type="application/json"
    )
    assert "nested" not in json.dumps(_json_error(response, 400))


# An error nothing caught, under /api/, is still JSON.


def _fault(request):
    raise ZeroDivisionError("the fault under test")


@api_view(["GET"])
@permission_classes([AllowAny])
def _api_fault(request):
    raise ZeroDivisionError("the fault under test")


urlpatterns = [
    path("api/v1/test-fault/", _fault),
    path("api/v1/test-api-fault/", _api_fault),
    path("test-page-fault/", _fault),
    *app_urlpatterns,
]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("address", ["/api/v1/test-fault/", "/api/v1/test-api-fault/"])
def test_an_unhandled_api_error_is_a_logged_json_500(cast, settings, caplog, debug, address):
    settings.DEBUG = debug
    client = StaffClient(raise_request_exception=False)
    client.force_login(cast.nurse)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(address)
    body = _json_error(response, 500)
    assert body["code"] == "internal_server_error" and "logged" in body["detail"]
    assert ("exception" in body) == debug
    assert "the fault under test" in json.dumps(body) if debug else "fault" not in str(body)
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and logged[0].exc_info[0] is ZeroDivisionError


@pytest.mark.urls(__name__)
def test_the_test_client_still_raises_an_unhandled_api_error(cast):
    client = cast.client("nurse")
    with pytest.raises(ZeroDivisionError):
        client.get("/api/v1/test-fault/")


@pytest.mark.urls(__name__)
def test_a_page_error_outside_the_api_stays_an_html_page(cast, settings):
    settings.DEBUG = False
    client = StaffClient(raise_request_exception=False)
    client.force_login(cast.nurse)
    response = client.get("/test-page-fault/")
    assert response.status_code == 500 and "html" in response["Content-Type"]


def test_an_unknown_api_address_is_a_json_404(cast):
    body = _json_error(cast.client("nurse").get("/api/v1/no-such-thing/"), 404)
    assert body == {"detail": "Not Found.", "code": "not_found"}
