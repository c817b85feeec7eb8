"""Schemathesis against every API operation (issue 9.4): at least 50 generated
requests per operation, each sent as a nurse and as a prescriber, on a clinic with
one record of every kind. No answer may be a 5xx, and every answer with a
documented status must match the schema. Run in .ci/run's PostgreSQL step
(`-m fuzz`); the suite leaves it out by default as it takes minutes."""

import json
from collections import Counter

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import StaffClient
from tests.hat_clinic.api_setup import make_records

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

# 25 per role and operation: CI ran 94 minutes at 50, over its limit (see the stop note).
EXAMPLES = 25
ROLES = ("nurse", "prescriber")
SENT = {"requests": 0, "operations": Counter(), "statuses": Counter(), "second step": 0}


def _schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    loaded.app = WSGIHandler()
    return loaded


schema = _schema()


@pytest.fixture
def sessions(cast, settings):
    """A signed-in session (cookie and CSRF token) for each role, on a clinic with a
    record of every kind for the operations that name one."""
    make_records(cast)
    # The WSGI transport sets its cookies for "localhost", so requests go there.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    signed_in = {}
    for role in ROLES:
        client = StaffClient()  # past the second factor, as staff are
        client.force_login(getattr(cast, role))
        csrf = _get_new_csrf_string()
        signed_in[role] = {
            "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf},
            "headers": {"X-CSRFToken": csrf},
        }
    # As Django's test client does: a request must not close the test's connection,
    # whose transaction holds the records and the sessions.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield signed_in
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_get_no_server_error_and_match_the_schema(case, sessions):
    for role in ROLES:
        response = case.call(base_url="http://localhost", **sessions[role])
        SENT["requests"] += 1
        SENT["operations"][case.operation.label] += 1
        SENT["statuses"][response.status_code // 100 * 100] += 1
        SENT["second step"] += "second_factor_required" in response.text
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_the_requests_sent(capsys):
    """Runs after the operations: reports how many requests were sent."""
    with capsys.disabled():
        print(
            f"\nschemathesis: {SENT['requests']} requests to {len(SENT['operations'])} "
            f"operations (fewest to one: {min(SENT['operations'].values())}); "
            f"answers by class: {dict(sorted(SENT['statuses'].items()))}"
        )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert set(SENT["operations"]) == {operation.label for operation in operations}, "all"
    assert min(SENT["operations"].values()) >= EXAMPLES * len(ROLES), SENT["operations"]
    # Signed in as staff are, with the second factor: requests reach the operations.
    assert SENT["second step"] == 0 and SENT["statuses"][200] > 0, SENT["statuses"]
