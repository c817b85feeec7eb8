"""Integration tokens in the browser (issue 9.2): a manager issues one for their
clinic and one role, sees its key once, and revokes it; the key works on the API
until then. The role cast: only managers, and only their clinic's tokens."""

import pytest
from django.test import Client
from django.urls import reverse

from core.roles import Role
from dosing.prescribing import pharmacy_add
from eligibility.models import IntegrationToken
from eligibility.tokens import token_issue
from tests.factories import StaffClient, make_pharmacy_token, make_staff
from tests.helpers import refused

PAGE = reverse("integration-tokens")


def api_with(key):
    return Client().get("/api/v1/methadone-collections/", HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def pharmacy(cast):
    return pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")


def test_a_manager_issues_a_token_sees_its_key_once_and_revokes_it(cast, pharmacy):
    client = cast.client("manager")
    response = client.post(
        PAGE, {"name": "High St Pharmacy", "role": Role.PHARMACY.value, "pharmacy": pharmacy.pk}
    )
    assert response.status_code == 200
    key = response.context["issued"]["key"]
    assert key in response.content.decode() and "shown only this once" in response.content.decode()
    token = IntegrationToken.objects.get(name="High St Pharmacy")
    assert (token.clinic, token.role, token.created_by, token.pharmacy) == (
        cast.clinic_a,
        "Pharmacy integration",
        cast.manager,
        pharmacy,
    )
    assert api_with(key).status_code == 200
    again = client.get(PAGE).content.decode()
    assert "High St Pharmacy" in again and key not in again and token.key_prefix in again

    done = client.post(reverse("integration-token-revoke", args=[token.pk]), follow=True)
    assert "no longer works" in done.content.decode()
    assert api_with(key).status_code in (401, 403)
    twice = client.post(reverse("integration-token-revoke", args=[token.pk]), follow=True)
    assert "already revoked" in twice.content.decode()


def test_a_token_needs_a_name_a_system_role_and_one_of_the_clinics_pharmacies(cast, pharmacy):
    client = cast.client("manager")
    ok = {"name": "High St", "role": Role.PHARMACY.value, "pharmacy": pharmacy.pk}
    unnamed = client.post(PAGE, {**ok, "name": "  "})
    assert unnamed.status_code == 400 and "This field is required" in unnamed.content.decode()
    nurse_role = client.post(PAGE, {**ok, "role": Role.NURSE.value})
    assert nurse_role.status_code == 400
    assert "Select a valid choice" in nurse_role.content.decode()
    elsewhere = pharmacy_add(clinic=cast.clinic_b, name="Far Pharmacy", address="2 Far Rd")
    for other in ("", elsewhere.pk):
        page = client.post(PAGE, {**ok, "pharmacy": other})
        assert page.status_code == 400
        assert page.context["form"].errors["pharmacy"], other
        assert page.context["form"]["name"].value() == "High St", "what was typed stays"
    assert not IntegrationToken.objects.exists()
    refused(
        "pharmacy_required",
        token_issue,
        clinic=cast.clinic_a,
        name="High St",
        role=Role.PHARMACY,
        pharmacy=elsewhere,
        created_by=cast.manager,
    )


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
    token, _ = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    client = cast.client(who)
    assert client.get(PAGE).status_code == status
    revoke = client.post(reverse("integration-token-revoke", args=[token.pk]))
    assert revoke.status_code == (302 if who in ("manager", None) else 403)
    token.refresh_from_db()
    assert token.is_active == (who != "manager")


def test_another_clinics_manager_cannot_see_or_revoke_the_token(cast):
    token, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    other = make_staff(cast.clinic_b, Role.MANAGER, username="manager_b")
    client = StaffClient()
    client.force_login(other)
    assert client.get(PAGE).context["tokens"].count() == 0
    assert client.post(reverse("integration-token-revoke", args=[token.pk])).status_code == 404
    assert api_with(key).status_code == 200


def test_the_shell_command_issues_a_token_for_a_named_pharmacy_and_refuses_without_one(
    cast, pharmacy
):
    from io import StringIO

    from django.core.management import CommandError, call_command

    args = ["integration_token", "--clinic", "Clinic A", "--name", "High St", "--by"]
    out = StringIO()
    call_command(*args, cast.manager.username, "--pharmacy", "High St Pharmacy", stdout=out)
    token = IntegrationToken.objects.get()
    assert token.pharmacy == pharmacy and token.key_prefix in out.getvalue()
    with pytest.raises(CommandError, match="Choose the clinic's pharmacy"):
        call_command(*args, cast.manager.username, "--pharmacy", "Nowhere", stdout=StringIO())
