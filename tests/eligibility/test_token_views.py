"""Integration tokens in the browser (issue 9.2): a manager issues one for their
clinic and one role, sees its key once, and revokes it; the key works on the API
until then. The role cast: only managers, and only their clinic's tokens."""

import pytest
from django.test import Client
from django.urls import reverse

from eligibility.models import IntegrationToken
from eligibility.tokens import token_issue
from hat_clinic.roles import Role
from tests.factories import make_staff

PAGE = reverse("integration-tokens")


def api_with(key):
    return Client().get("/api/v1/methadone-collections/", HTTP_AUTHORIZATION=f"Token {key}")


def test_a_manager_issues_a_token_sees_its_key_once_and_revokes_it(cast):
    client = cast.client("manager")
    response = client.post(PAGE, {"name": "High St Pharmacy", "role": Role.PHARMACY.value})
    assert response.status_code == 200
    key = response.context["issued"]["key"]
    assert key in response.content.decode() and "shown only this once" in response.content.decode()
    token = IntegrationToken.objects.get(name="High St Pharmacy")
    assert (token.clinic, token.role, token.created_by) == (
        cast.clinic_a,
        "Pharmacy integration",
        cast.manager,
    )
    assert api_with(key).status_code == 200
    again = client.get(PAGE).content.decode()
    assert "High St Pharmacy" in again and key not in again and token.key_prefix in again

    done = client.post(reverse("integration-token-revoke", args=[token.pk]), follow=True)
    assert "no longer works" in done.content.decode()
    assert api_with(key).status_code in (401, 403)
    twice = client.post(reverse("integration-token-revoke", args=[token.pk]), follow=True)
    assert "already revoked" in twice.content.decode()


def test_a_token_needs_a_name_and_a_system_role(cast):
    client = cast.client("manager")
    unnamed = client.post(PAGE, {"name": "  ", "role": Role.PHARMACY.value})
    assert unnamed.status_code == 400 and "This field is required" in unnamed.content.decode()
    nurse_role = client.post(PAGE, {"name": "Ward", "role": Role.NURSE.value})
    assert nurse_role.status_code == 400
    assert "Select a valid choice" in nurse_role.content.decode()
    assert not IntegrationToken.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("nurse", 403),
        ("hca", 403),
        ("prescriber", 403),
        ("nurse_b", 403),
        (None, 302),
    ],
)
def test_only_managers_manage_tokens(cast, who, status):
    token, _ = token_issue(
        clinic=cast.clinic_a, name="Pharmacy", role=Role.PHARMACY, created_by=cast.manager
    )
    client = cast.client(who)
    assert client.get(PAGE).status_code == status
    revoke = client.post(reverse("integration-token-revoke", args=[token.pk]))
    assert revoke.status_code == (302 if who in ("manager", None) else 403)
    token.refresh_from_db()
    assert token.is_active == (who != "manager")


def test_another_clinics_manager_cannot_see_or_revoke_the_token(cast):
    token, key = token_issue(
        clinic=cast.clinic_a, name="Pharmacy", role=Role.PHARMACY, created_by=cast.manager
    )
    other = make_staff(cast.clinic_b, Role.MANAGER, username="manager_b")
    client = Client()
    client.force_login(other)
    assert client.get(PAGE).context["tokens"].count() == 0
    assert client.post(reverse("integration-token-revoke", args=[token.pk])).status_code == 404
    assert api_with(key).status_code == 200
