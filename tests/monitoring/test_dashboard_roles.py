"""The role cast for every dashboard (issue 8): managers read them; each other role,
another clinic's staff, an integration token and an anonymous visitor may not, on
the page, its CSV and the API alike."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_pharmacy_token

DASHBOARDS = ["attendance", "retention", "outcomes", "workload"]


@pytest.mark.parametrize("dashboard", DASHBOARDS)
@pytest.mark.parametrize(
    ("who", "page", "api"),
    [
        ("manager", 200, 200),
        ("nurse", 403, 403),
        ("hca", 403, 403),
        ("prescriber", 403, 403),
        ("nurse_b", 403, 403),
        (None, 302, 403),
    ],
)
def test_only_managers_read_the_dashboards(cast, dashboard, who, page, api):
    client = cast.client(who)
    assert client.get(reverse(f"dashboard-{dashboard}")).status_code == page
    export = client.get(reverse(f"dashboard-{dashboard}"), {"export": "clinic"})
    assert export.status_code == page
    if page == 200:
        assert export["Content-Type"].startswith("text/csv")
    assert client.get(f"/api/v1/dashboard/{dashboard}/").status_code == api


@pytest.mark.parametrize("dashboard", DASHBOARDS)
def test_an_integration_token_cannot_read_the_dashboards(cast, dashboard):
    _, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    response = Client().get(f"/api/v1/dashboard/{dashboard}/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403


@pytest.mark.parametrize("dashboard", DASHBOARDS)
def test_another_clinic_is_not_found(cast, dashboard):
    client = cast.client("manager")
    assert (
        client.get(reverse(f"dashboard-{dashboard}"), {"clinic": cast.clinic_b.pk}).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/dashboard/{dashboard}/", {"clinic": cast.clinic_b.pk}).status_code
        == 404
    )
