"""The API's clinic and service-user endpoints against the cast."""

import pytest

from core.roles import Role
from eligibility.models import Status
from tests.conftest import EVERYONE
from tests.factories import make_service_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("nurse", 200),
        ("hca", 200),
        ("prescriber", 200),
        ("manager", 200),
        ("nurse_b", 404),
        (None, 403),
    ],
)
def test_a_service_user_is_a_404_outside_the_callers_clinics(cast, service_user_a, who, expected):
    response = cast.client(who).get(f"/api/v1/service-users/{service_user_a.pk}/")
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert body["nhs_number"] == service_user_a.nhs_number
        assert body["status"] == "maintenance"
        assert body["consecutive_not_taken"] == 0
        assert body["flags"] == []


@pytest.mark.parametrize("who", EVERYONE)
def test_the_clinic_list_is_the_callers_clinics_with_their_policy(cast, who):
    response = cast.client(who).get("/api/v1/clinics/")
    if who is None:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    results = response.json()["results"]
    assert [c["name"] for c in results] == ["Clinic B" if who == "nurse_b" else "Clinic A"]
    policy = results[0]["policy"]
    assert [s["code"] for s in policy["slots"]] == ["AM", "PM"]
    assert policy["max_daily_total_mg"] == "1000.00"


def test_service_user_list_filters_by_status_in_fixed_queries(cast, django_assert_max_num_queries):
    for n in range(30):
        make_service_user(
            cast.clinic_a, Status.MAINTENANCE if n % 2 else Status.WAITING, flags=["alcohol"]
        )
    client = cast.client("nurse")
    # Including the one permission read, by clinic (the list needs
    # eligibility.view_serviceuser, and reaches the clinics where it is held),
    # and the one that finds no closed window to settle.
    # And the session's second-factor device (django-otp's middleware).
    with django_assert_max_num_queries(11):
        response = client.get("/api/v1/service-users/", {"status": "waiting"})
    body = response.json()
    assert body["count"] == 15
    assert {r["status"] for r in body["results"]} == {"waiting"}
    assert body["results"][0]["flags"] == ["alcohol"]


def test_the_clinic_list_does_not_query_per_clinic(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from eligibility.services import staff_member_add
    from tests.factories import make_clinic

    client = cast.client("manager")

    def queries_for_list(expected_count):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/clinics/")
        assert response.json()["count"] == expected_count
        assert all(c["policy"] is not None for c in response.json()["results"])
        return len(queries)

    one = queries_for_list(1)
    for _ in range(6):
        staff_member_add(clinic=make_clinic(), user=cast.manager, roles=[Role.MANAGER])
    assert queries_for_list(7) == one


def test_the_api_refuses_writes_it_does_not_offer(cast, service_user_a):
    client = cast.client("manager")
    response = client.patch(
        f"/api/v1/service-users/{service_user_a.pk}/",
        {"status": "exited"},
        content_type="application/json",
    )
    assert response.status_code == 405
    service_user_a.refresh_from_db()
    assert service_user_a.status == Status.MAINTENANCE


@pytest.mark.parametrize("who", ["nurse", None])
def test_the_schema_and_docs_need_a_login(cast, who):
    schema = cast.client(who).get("/api/v1/schema/")
    docs = cast.client(who).get("/api/v1/docs/")
    if who is None:
        assert schema.status_code == 403
        assert docs.status_code == 403
    else:
        assert schema.status_code == 200
        assert b"/api/v1/service-users/" in schema.content
        assert docs.status_code == 200
        assert b"/static/drf_spectacular_sidecar/" in docs.content
