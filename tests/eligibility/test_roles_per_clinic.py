"""Roles are held per clinic membership (issue 18.1): one person is a nurse at one
clinic and a manager at another, and every check, on a page, through the API and in a
service, is of the role held in the clinic of the record at hand."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse

from core.roles import Role
from dosing.witness import witness_confirm
from eligibility.models import ClinicPolicy, StaffMembership
from eligibility.roles import membership_roles_set, roles_held
from eligibility.services import staff_member_add
from tests.factories import PASSWORD, UserFactory, make_staff
from tests.helpers import refused

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def both(cast):
    """A nurse at clinic A who is the manager of clinic B."""
    person = make_staff(cast.clinic_a, Role.NURSE, username="nurse_a_manager_b")
    staff_member_add(clinic=cast.clinic_b, user=person, roles=[Role.MANAGER])
    return person


def test_has_perm_asks_about_the_role_held_in_the_clinic_named(cast, both):
    assert both.has_perm("dosing.administer", cast.clinic_a)
    assert not both.has_perm("dosing.administer", cast.clinic_b)
    assert both.has_perm("eligibility.add_clinicpolicy", cast.clinic_b)
    assert not both.has_perm("eligibility.add_clinicpolicy", cast.clinic_a)
    assert roles_held(both, cast.clinic_a) == [Role.NURSE]
    assert roles_held(both, cast.clinic_b) == [Role.MANAGER]
    assert not both.groups.exists(), "no clinic role is held on the account"


def test_a_page_acts_in_the_clinic_chosen_and_its_roles_there(cast, both):
    client = cast.client("nurse")
    client.force_login(both)
    assert client.get(reverse("board")).status_code == 200
    assert client.get(reverse("policy-new")).status_code == 403, "a nurse at A"
    home = client.get(reverse("home"))
    assert home.context["staff_roles"] == [Role.NURSE]
    client.post(reverse("clinic-switch"), {"clinic": cast.clinic_b.pk})
    assert client.get(reverse("policy-new")).status_code == 200, "the manager of B"
    assert client.get(reverse("home")).context["staff_roles"] == [Role.MANAGER]


def test_a_page_reaches_only_the_records_of_the_clinic_it_acts_in(cast, both):
    from tests.factories import make_service_user

    at_b = make_service_user(cast.clinic_b)
    client = cast.client("nurse")
    client.force_login(both)
    page = reverse("service-user-detail", args=[at_b.pk])
    assert client.get(page).status_code == 404, "acting at A, as A's nurse"
    client.post(reverse("clinic-switch"), {"clinic": cast.clinic_b.pk})
    assert client.get(page).status_code == 200


def test_the_api_acts_where_the_caller_holds_the_actions_permission(cast, both):
    client = cast.client("nurse")
    client.force_login(both)
    body = {"effective_from": "2026-03-09T00:00:00Z", "reason": "More places", "capacity": 18}
    issued = client.post(
        "/api/v1/policies/", {**body, "clinic": cast.clinic_b.pk}, content_type="application/json"
    )
    assert issued.status_code == 201, issued.json()
    refused_at_a = client.post(
        "/api/v1/policies/", {**body, "clinic": cast.clinic_a.pk}, content_type="application/json"
    )
    assert refused_at_a.status_code == 404, "not a manager at A: A is not among the clinics"
    assert not ClinicPolicy.objects.filter(clinic=cast.clinic_a, capacity=18).exists()
    unnamed = client.post(
        "/api/v1/policies/",
        {**body, "effective_from": "2026-03-16T00:00:00Z"},
        content_type="application/json",
    )
    assert unnamed.status_code == 201, "a manager of one clinic only need not name it"
    listed = client.get("/api/v1/policies/").json()["results"]
    assert {row["clinic"] for row in listed} == {cast.clinic_b.pk}


def test_a_witness_needs_the_role_in_the_clinic_where_the_dose_is_given(cast):
    """An HCA of clinic A who is on B's staff with no role there cannot witness at B."""
    hca = cast.hca
    staff_member_add(clinic=cast.clinic_b, user=hca)

    def confirm(clinic, nurse):
        return witness_confirm(
            witness_username=hca.username,
            witness_password=PASSWORD,
            nurse=nurse,
            clinic=clinic,
            now=NOW,
        )

    assert refused("witness_not_allowed", confirm, clinic=cast.clinic_b, nurse=cast.nurse_b)
    assert confirm(cast.clinic_a, cast.nurse) == hca


def test_a_deactivated_membership_holds_nothing_and_reaches_nothing(cast, both):
    StaffMembership.objects.filter(user=both, clinic=cast.clinic_b).update(deactivated_at=NOW)
    both.refresh_from_db()
    assert not both.has_perm("eligibility.add_clinicpolicy", cast.clinic_b)
    client = cast.client("nurse")
    client.force_login(both)
    client.post(reverse("clinic-switch"), {"clinic": cast.clinic_b.pk})
    assert client.get(reverse("home")).context["current_clinic"] == cast.clinic_a
    assert [c.pk for c in client.get(reverse("home")).context["staff_clinics"]] == [
        cast.clinic_a.pk
    ]


def test_changing_roles_is_kept_in_the_membership_history(cast, both):
    membership = StaffMembership.objects.get(user=both, clinic=cast.clinic_b)
    membership_roles_set(
        membership=membership,
        roles=["Manager", "Prescriber"],
        changed_by=cast.manager,
        why="Also prescribes on Tuesdays",
    )
    assert roles_held(both, cast.clinic_b) == [Role.PRESCRIBER, Role.MANAGER]
    latest = membership.history.order_by("-history_id").first()
    assert latest.history_user == cast.manager
    assert latest.history_change_reason == "Also prescribes on Tuesdays"
    assert {role.group.name for role in latest.roles.all()} == {"Prescriber", "Manager"}


@pytest.mark.parametrize("role", ["Installation administrator", "Pharmacy integration", "Chef"])
def test_a_role_that_is_not_a_clinics_is_refused_by_name(cast, both, role):
    membership = StaffMembership.objects.get(user=both, clinic=cast.clinic_b)
    refusal = refused(
        "unknown_role",
        membership_roles_set,
        membership=membership,
        roles=[role],
        changed_by=cast.manager,
        why="Try",
    )
    assert refusal.field == "roles" and "Nurse, Health-care assistant" in refusal.message
    assert roles_held(both, cast.clinic_b) == [Role.MANAGER], "nothing changed"


def test_the_migration_moves_each_accounts_roles_into_every_membership_of_its(cast):
    """Before 18.1 roles were the account's groups, valid in each of its clinics."""
    moved = importlib.import_module("eligibility.migrations.0003_roles_per_clinic")
    person = UserFactory(username="old_style")
    for clinic in (cast.clinic_a, cast.clinic_b):
        StaffMembership.objects.create(user=person, clinic=clinic)
    person.groups.add(*Group.objects.filter(name__in=["Nurse", "Prescriber"]))
    admin = Group.objects.get(name=Role.INSTALLATION_ADMIN.value)
    person.groups.add(admin)
    moved.roles_to_memberships(apps, None)
    for clinic in (cast.clinic_a, cast.clinic_b):
        assert roles_held(person, clinic) == [Role.NURSE, Role.PRESCRIBER, Role.INSTALLATION_ADMIN]
    assert list(person.groups.all()) == [admin], "the account keeps only its own role"
    moved.roles_to_accounts(apps, None)
    assert set(person.groups.values_list("name", flat=True)) == {
        "Nurse",
        "Prescriber",
        "Installation administrator",
    }
