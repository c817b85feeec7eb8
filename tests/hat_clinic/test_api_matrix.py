"""The API's authorization matrix (issue 9.3): every URL pattern under /api/v1/ and
every method it answers, against every principal: the nurse, HCA, prescriber and
manager of clinic A, a nurse of clinic B, a pharmacy's integration token, and an
anonymous visitor.

EXPECTED names, for each route and method, who may act. For them the request must
get past authorization (any answer but 401, 403, 404 or 405: an empty POST body
is a 400, which is fine). Everyone else is refused: 403; clinic B's nurse gets a
404 for a clinic A record that nurses may otherwise touch (a record's existence
does not leak), and 403 or 404 for one they may not. No cell may answer 500. A
route or method missing from EXPECTED fails the test, so a new endpoint cannot
ship without its row.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver

from dosing.leaving import service_user_exit, suspension_start
from dosing.missed import missed_sessions_scan
from dosing.models import DoseSession, RegisterEntry
from dosing.register import register_receive, register_section_add
from dosing.services import methadone_prescribe, pharmacy_add, review_record
from eligibility.tokens import token_issue
from hat_clinic.roles import Role
from monitoring.models import Alert
from monitoring.records import breath_test_record, methadone_collection_record, tox_screen_record
from tests.dosing.room_setup import give_dose
from tests.eligibility.pathway_setup import assess, refer
from tests.monitoring.scan_setup import london, people_on_prescription, schedule, session_of

MON = dt.date(2026, 2, 9)
NOW = london(MON, 18)

STAFF = ("nurse", "hca", "prescriber", "manager")
EVERYONE = (*STAFF, "token")
READERS = ("nurse", "hca", "prescriber", "manager")  # every person on the staff
CLINICAL = ("nurse", "prescriber")

# (url name, method) -> who may act. Collection routes are scoped to the caller's
# clinics, so clinic B's nurse acts there as a nurse does; on a clinic A record
# (a route with a pk) they get a 404.
EXPECTED = {
    # The API's own description is no clinical data: an integrator may read it.
    ("api-root", "get"): EVERYONE,
    ("api-schema", "get"): EVERYONE,
    ("api-docs", "get"): EVERYONE,
    ("api-attendance", "get"): ("manager",),
    ("api-retention", "get"): ("manager",),
    ("api-outcomes", "get"): ("manager",),
    ("api-workload", "get"): ("manager",),
    ("fhir-medication-administration", "get"): READERS,
    ("clinic-list", "get"): READERS,
    ("clinic-detail", "get"): READERS,
    ("service-user-list", "get"): READERS,
    ("service-user-detail", "get"): READERS,
    ("service-user-admit", "post"): ("prescriber",),
    ("service-user-titration-complete", "post"): ("prescriber",),
    ("prescription-list", "get"): READERS,
    ("prescription-list", "post"): ("prescriber",),
    ("prescription-detail", "get"): READERS,
    ("prescription-cancel", "post"): ("prescriber",),
    ("review-list", "get"): READERS,
    ("review-list", "post"): ("prescriber",),
    ("review-detail", "get"): READERS,
    ("dose-session-list", "get"): READERS,
    ("dose-session-detail", "get"): READERS,
    ("dose-session-assess", "post"): ("nurse",),
    ("dose-session-administer", "post"): ("nurse",),
    ("dose-session-withhold", "post"): ("nurse",),
    ("dose-session-decline", "post"): ("nurse",),
    ("dose-session-observe", "post"): ("nurse", "hca"),
    ("dose-session-amend", "post"): ("nurse",),
    ("referral-list", "get"): READERS,
    ("referral-list", "post"): READERS,
    ("referral-detail", "get"): READERS,
    ("referral-decide", "post"): ("prescriber",),
    ("eligibility-assessment-list", "get"): READERS,
    ("eligibility-assessment-list", "post"): CLINICAL,
    ("eligibility-assessment-detail", "get"): READERS,
    ("suspension-list", "get"): READERS,
    ("suspension-list", "post"): CLINICAL,
    ("suspension-detail", "get"): READERS,
    ("suspension-end", "post"): CLINICAL,
    ("exit-list", "get"): READERS,
    ("exit-list", "post"): ("prescriber",),
    ("exit-detail", "get"): READERS,
    ("cd-register-list", "get"): READERS,
    ("cd-register-list", "post"): CLINICAL,
    ("cd-register-balances", "get"): READERS,
    ("cd-register-detail", "get"): READERS,
    ("alert-list", "get"): READERS,
    ("alert-detail", "get"): READERS,
    ("alert-acknowledge", "post"): ("nurse", "prescriber", "manager"),
    ("tox-screen-list", "get"): READERS,
    ("tox-screen-list", "post"): ("nurse",),
    ("tox-screen-detail", "get"): READERS,
    ("breath-test-list", "get"): READERS,
    ("breath-test-list", "post"): ("nurse", "hca"),
    ("breath-test-detail", "get"): READERS,
    ("methadone-collection-list", "get"): (*READERS, "token"),
    ("methadone-collection-list", "post"): ("nurse", "token"),
    ("methadone-collection-detail", "get"): (*READERS, "token"),
    ("methadone-prescription-list", "get"): READERS,
    ("methadone-prescription-list", "post"): ("prescriber",),
    ("methadone-prescription-detail", "get"): READERS,
}
PRINCIPALS = (*STAFF, "nurse_b", "token", None)


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def api_routes() -> list[tuple[str, str, str]]:
    """(url name, method, route) for every API pattern and the methods it answers;
    the router's format-suffix copies are the same views and are left out."""
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or "format" in route:
            continue
        callback = pattern.callback
        if getattr(callback, "actions", None):
            methods = sorted(callback.actions)
        else:
            view = callback.cls
            methods = [
                m
                for m in view.http_method_names
                if hasattr(view, m) and m not in ("options", "head")
            ]
        routes += [(pattern.name, method, route) for method in methods]
    return routes


ROUTES = api_routes()


def test_every_route_and_method_has_a_row():
    found = {(name, method) for name, method, _ in ROUTES}
    assert found - set(EXPECTED) == set(), "add these to EXPECTED"
    assert set(EXPECTED) - found == set(), "these rows name no route"


@pytest.fixture
def records(cast):
    """One record of every kind in clinic A, for the routes that name one."""
    person, suspended, leaving = people_on_prescription(cast, 3)
    register_receive(
        section=register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True),
        ampoules=10,
        supplier_name="Wholesale Pharma Ltd",
        supplier_address="1 Industrial Way",
        batch="B1",
        expiry=MON + dt.timedelta(days=365),
        received_by=cast.nurse,
        now=NOW - dt.timedelta(days=1),
    )
    schedule(cast, MON)
    give_dose(cast, session_of(person, MON, "AM"), london(MON, 9))
    missed_sessions_scan(now=NOW)  # the PM sessions: missed, with alerts
    review = review_record(
        service_user=person,
        prescriber=cast.prescriber,
        decision="continue",
        notes="Stable",
        now=NOW,
    )
    referral = refer(cast, now=NOW)
    assessment = assess(cast, referral, now=NOW)
    suspension = suspension_start(
        service_user=suspended,
        kind="hospital",
        starts_on=MON,
        reason="Admitted",
        recorded_by=cast.nurse,
        now=NOW,
    )
    exit_record = service_user_exit(
        service_user=leaving,
        kind="planned",
        detail="oral_treatment",
        reason="Moving to oral methadone",
        exited_on=MON,
        recorded_by=cast.prescriber,
        now=NOW,
    )
    pharmacy = pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")
    methadone = methadone_prescribe(
        service_user=person,
        prescriber=cast.prescriber,
        nightly_dose_mg=Decimal("30"),
        pharmacy=pharmacy,
        reason="Overnight cover",
        valid_from=NOW - dt.timedelta(days=3),
        now=NOW - dt.timedelta(days=3),
    )
    collection, _ = methadone_collection_record(
        service_user=person,
        day=MON - dt.timedelta(days=1),
        collected=True,
        recorded_by=cast.nurse,
        now=NOW,
    )
    screen = tox_screen_record(
        service_user=person,
        recorded_by=cast.nurse,
        sample_date=MON,
        results={"papaverine": "negative"},
        now=NOW,
    )
    breath = breath_test_record(service_user=person, recorded_by=cast.nurse, reading="0", now=NOW)
    _, key = token_issue(
        clinic=cast.clinic_a, name="High St Pharmacy", role=Role.PHARMACY, created_by=cast.manager
    )
    ids = {
        "clinic": cast.clinic_a.pk,
        "service-user": person.pk,
        "prescription": _pk(person.prescriptions.first(), "prescription"),
        "review": review.pk,
        "dose-session": _pk(
            DoseSession.objects.filter(service_user=person).first(), "dose-session"
        ),
        "referral": referral.pk,
        "eligibility-assessment": assessment.pk,
        "suspension": suspension.pk,
        "exit": exit_record.pk,
        "cd-register": _pk(
            RegisterEntry.objects.filter(section__clinic=cast.clinic_a).first(), "cd-register"
        ),
        "alert": _pk(Alert.objects.filter(clinic=cast.clinic_a).first(), "alert"),
        "tox-screen": screen.pk,
        "breath-test": breath.pk,
        "methadone-collection": collection.pk,
        "methadone-prescription": methadone.pk,
    }
    return {"key": key, "person": person, "ids": ids}


def _pk(record, what) -> int:
    assert record is not None, f"the set-up made no {what}"
    return record.pk


def _path(name, route, records) -> str:
    if "(?P<pk>[^/.]+)" in route:
        prefix = next(
            (p for p in sorted(records["ids"], key=len, reverse=True) if name.startswith(p)), None
        )
        assert prefix, f"no record for {name}"
        route = route.replace("(?P<pk>[^/.]+)", str(records["ids"][prefix]))
    return "/" + route.replace("^", "").replace("$", "")


def _client(cast, who, records) -> Client:
    if who == "token":
        return Client(HTTP_AUTHORIZATION=f"Token {records['key']}")
    return cast.client(who)


def _call(client, method, path, records):
    params = {"patient": records["person"].pk} if "fhir" in path else {}
    if method == "get":
        return client.get(path, params)
    return getattr(client, method)(path, data={}, content_type="application/json")


REFUSED = {401, 403, 404, 405}


@pytest.mark.parametrize(
    ("name", "method", "route"), ROUTES, ids=[f"{m} {n}" for n, m, _ in ROUTES]
)
def test_the_authorization_matrix(cast, records, name, method, route):
    allowed = EXPECTED[name, method]
    path = _path(name, route, records)
    names_a_record = "(?P<pk>" in route
    # Refusals first, so that an allowed POST that succeeds changes nothing for them.
    for who in sorted(PRINCIPALS, key=lambda p: (p or "") in allowed):
        response = _call(_client(cast, who, records), method, path, records)
        cell = f"{method.upper()} {path} as {who}: {response.status_code}"
        assert response.status_code < 500, cell
        if who is None:
            assert response.status_code in (401, 403), cell
        elif who == "nurse_b":
            if names_a_record or "fhir" in path:
                # Refused either way: for want of the role, or as if absent.
                expected = {404} if "nurse" in allowed else {403, 404}
                assert response.status_code in expected, cell
            elif "nurse" not in allowed:
                assert response.status_code == 403, cell
            else:
                assert response.status_code not in REFUSED, cell
        elif who in allowed:
            assert response.status_code not in REFUSED, cell
        else:
            assert response.status_code == 403, cell


def test_the_matrix_size():
    """The number of cells checked, for the closing note: routes x principals."""
    assert len(ROUTES) * len(PRINCIPALS) == len(EXPECTED) * len(PRINCIPALS) >= 400
