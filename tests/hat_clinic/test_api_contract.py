"""The API's contract for every write (issue 9.2) and its guard against key guessing
(issue 9.6): a session needs its CSRF token; a body that is not JSON is a 415 and
an unknown field a 400 on every POST route; unknown token keys from one address
are limited, and each refusal is logged with no clinical data."""

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from tests.factories import StaffClient, make_pharmacy_token
from tests.hat_clinic.api_setup import ROUTES, client_for, path_for
from tests.hat_clinic.test_api_matrix import EXPECTED

# The photo is a file: its one route takes multipart/form-data (docs/api.md), and is
# driven in tests/eligibility/test_record.py.
MULTIPART = {"service-user-photo-upload"}
POSTS = [
    (name, route) for name, method, route in ROUTES if method == "post" and name not in MULTIPART
]
IDS = [name for name, _ in POSTS]


def _actor(name):
    """Someone who may make this POST: a person if any may, else the token."""
    allowed = EXPECTED[name, "post"]
    return next((who for who in allowed if who != "token"), "token")


@pytest.mark.parametrize(("name", "route"), POSTS, ids=IDS)
def test_a_body_that_is_not_json_is_a_415(cast, records, name, route):
    client = client_for(cast, _actor(name), records)
    response = client.post(path_for(name, route, records), {"note": "x"})  # form-encoded
    assert response.status_code == 415, response.content


@pytest.mark.parametrize(("name", "route"), POSTS, ids=IDS)
def test_an_unknown_field_is_a_400_that_names_it(cast, records, name, route):
    client = client_for(cast, _actor(name), records)
    response = client.post(
        path_for(name, route, records), {"no_such_field": "1"}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert "no_such_field" in response.json(), response.json()


def test_a_session_write_needs_its_csrf_token(cast):
    client = StaffClient(enforce_csrf_checks=True)
    client.force_login(cast.nurse)
    refused = client.post("/api/v1/tox-screens/", {}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    client.get("/")  # the page sets the CSRF cookie, as the browser's would be
    token = client.cookies["csrftoken"].value
    passed = client.post(
        "/api/v1/tox-screens/", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert passed.status_code == 400, "past CSRF, to the validation of an empty body"


def test_guessing_token_keys_is_limited_and_logged_without_clinical_data(cast, caplog):
    from tests.factories import make_service_user

    person = make_service_user(cast.clinic_a, given_name="Siobhan", family_name="Quigley")
    _, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    url = "/api/v1/methadone-collections/"

    def call(with_key):
        return Client().get(url, HTTP_AUTHORIZATION=f"Token {with_key}")

    with caplog.at_level(logging.WARNING, logger="hat_clinic.security"):
        with time_machine.travel(start, tick=False):
            for n in range(settings.TOKEN_FAILURE_LIMIT):
                assert call(f"guess-{n:04d}-abcdefgh").status_code in (401, 403)
            blocked = call("guess-more-abcdefgh")
            assert blocked.status_code == 429, "more unknown keys from this address, for now"
            assert int(blocked["Retry-After"]) == settings.TOKEN_FAILURE_WINDOW.total_seconds()
            assert call(key).status_code == 200, "the right key is never refused for them"
            # Keys sharing a prefix are limited too, whichever address they come from.
            for n in range(settings.TOKEN_FAILURE_LIMIT):
                prefixed = Client(REMOTE_ADDR=f"192.0.2.{n + 1}").get(
                    url, HTTP_AUTHORIZATION=f"Token {key[:8]}-wrong-{n}"
                )
                assert prefixed.status_code in (401, 403, 429)
            from_elsewhere = Client(REMOTE_ADDR="198.51.100.7").get(
                url, HTTP_AUTHORIZATION=f"Token {key[:8]}-wrong-again"
            )
            assert from_elsewhere.status_code == 429, "this prefix has failed too often"
            assert call(key).status_code == 200, "and still the right key is accepted"
        later = start + settings.TOKEN_FAILURE_WINDOW + dt.timedelta(seconds=1)
        with time_machine.travel(later, tick=False):
            assert call("guess-last-abcdefgh").status_code in (401, 403), "the window passed"
    refusals = [r.getMessage() for r in caplog.records if r.name == "hat_clinic.security"]
    assert len(refusals) == 2 * settings.TOKEN_FAILURE_LIMIT + 3  # each refusal, each 429
    assert all(re.search(r"from \d+\.\d+\.\d+\.\d+", line) for line in refusals), "an address"
    text = " ".join(refusals)
    for clinical in (person.given_name, person.family_name, person.nhs_number, key):
        assert clinical not in text
