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

import pytest

from tests.hat_clinic.api_setup import ROUTES, client_for, path_for

STAFF = ("nurse", "hca", "prescriber", "manager")
EVERYONE = (*STAFF, "token")
READERS = STAFF  # every person on the staff
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
    ("api-take-home-eligibility", "get"): READERS,
    ("take-home-prescription-list", "get"): READERS,
    ("take-home-prescription-list", "post"): ("prescriber",),
    ("take-home-prescription-detail", "get"): READERS,
    ("take-home-supply-list", "get"): READERS,
    ("take-home-supply-list", "post"): ("nurse",),
    ("take-home-supply-detail", "get"): READERS,
    ("take-home-supply-report-loss", "post"): ("nurse",),
    ("take-home-return-list", "get"): READERS,
    ("take-home-return-list", "post"): ("nurse",),
    ("take-home-return-detail", "get"): READERS,
    # The stay is a clinic C service user's at clinic A: A's staff read it, its
    # manager (the host's) accepts or ends it; A's prescriber is not the home one.
    ("guest-stay-list", "get"): READERS,
    ("guest-stay-list", "post"): ("prescriber",),
    ("guest-stay-detail", "get"): READERS,
    ("guest-stay-accept", "post"): ("manager",),
    ("guest-stay-end", "post"): ("manager",),
    ("clinic-list", "get"): READERS,
    # Only an installation administrator, on no clinic's staff and so not a principal
    # here, opens a clinic (tests/eligibility/test_clinics.py); everyone here is refused.
    ("clinic-list", "post"): ("administrator",),
    ("policy-list", "get"): ("manager",),
    ("policy-list", "post"): ("manager",),
    ("policy-detail", "get"): ("manager",),
    ("pharmacy-list", "get"): READERS,
    ("pharmacy-list", "post"): ("manager",),
    ("pharmacy-detail", "get"): READERS,
    ("pharmacy-detail", "patch"): ("manager",),
    ("pharmacy-deactivate", "post"): ("manager",),
    ("clinic-detail", "get"): READERS,
    ("service-user-list", "get"): READERS,
    ("service-user-detail", "get"): READERS,
    ("service-user-admit", "post"): ("prescriber",),
    ("service-user-titration-complete", "post"): ("prescriber",),
    ("service-user-correct", "post"): ("nurse", "prescriber", "manager"),
    ("service-user-photo-upload", "post"): ("nurse", "prescriber", "manager"),
    ("service-user-flags", "post"): CLINICAL,
    ("prescription-list", "get"): READERS,
    ("prescription-list", "post"): ("prescriber",),
    ("prescription-detail", "get"): READERS,
    ("prescription-cancel", "post"): ("prescriber",),
    ("review-list", "get"): READERS,
    ("review-list", "post"): ("prescriber",),
    ("review-detail", "get"): READERS,
    ("dose-session-list", "get"): READERS,
    ("dose-session-list", "post"): ("prescriber",),
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
    ("cd-register-section-list", "get"): READERS,
    ("cd-register-section-list", "post"): ("manager",),
    ("cd-register-section-detail", "get"): READERS,
    ("cd-register-detail", "get"): READERS,
    ("alert-list", "get"): READERS,
    ("alert-detail", "get"): READERS,
    ("access-log-list", "get"): ("manager",),
    ("access-log-detail", "get"): ("manager",),
    ("staff-list", "get"): ("manager",),
    ("staff-detail", "get"): ("manager",),
    ("staff-reset-second-factor", "post"): ("manager",),
    ("staff-list", "post"): ("manager",),
    ("staff-detail", "patch"): ("manager",),
    ("staff-deactivate", "post"): ("manager",),
    ("staff-reset-password", "post"): ("manager",),
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


def test_every_route_and_method_has_a_row():
    found = {(name, method) for name, method, _ in ROUTES}
    assert found - set(EXPECTED) == set(), "add these to EXPECTED"
    assert set(EXPECTED) - found == set(), "these rows name no route"


# The routes that name a service user in the query, not the path: the parameter.
PERSON_PARAM = {
    "fhir-medication-administration": "patient",
    "api-take-home-eligibility": "service_user",
}


def _call(client, name, method, path, records):
    params = {PERSON_PARAM[name]: records["person"].pk} if name in PERSON_PARAM else {}
    if method == "get":
        return client.get(path, params)
    return getattr(client, method)(path, data={}, content_type="application/json")


REFUSED = {401, 403, 404, 405}


@pytest.mark.parametrize(
    ("name", "method", "route"), ROUTES, ids=[f"{m} {n}" for n, m, _ in ROUTES]
)
def test_the_authorization_matrix(cast, records, name, method, route):
    allowed = EXPECTED[name, method]
    path = path_for(name, route, records)
    names_a_record = "(?P<pk>" in route or name in PERSON_PARAM
    # Refusals first, so that an allowed POST that succeeds changes nothing for them.
    for who in sorted(PRINCIPALS, key=lambda p: (p or "") in allowed):
        response = _call(client_for(cast, who, records), name, method, path, records)
        cell = f"{method.upper()} {path} as {who}: {response.status_code}"
        assert response.status_code < 500, cell
        if who is None:
            assert response.status_code in (401, 403), cell
        elif who == "nurse_b":
            if names_a_record:
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
