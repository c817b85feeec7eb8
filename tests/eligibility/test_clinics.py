"""Opening a clinic (issue 18.1): an installation administrator, a role and not only
a superuser, opens a clinic with its name, address, time zone, capacity and first
manager, on a page and through POST clinics/. The clinic starts with the default
policy and an empty register; its manager holds the role there and nowhere else."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from core.roles import Role
from dosing.models import RegisterSection
from eligibility.models import Clinic, StaffMembership
from eligibility.roles import roles_held
from eligibility.selectors import policy_in_force
from tests.conftest import EVERYONE
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
NEW_PASSWORD = "a-long-first-password-9"
FORM = {
    "name": "Northgate HAT",
    "address": "1 High Street\nNorthgate",
    "time_zone": "Europe/London",
    "capacity": "12",
    "manager_username": "rowan",
    "manager_first_name": "Rowan",
    "manager_last_name": "Price",
    "manager_email": "rowan@northgate.example",
    "manager_password": NEW_PASSWORD,
}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def administrator(cast):
    """An installation administrator on no clinic's staff."""
    return make_staff(None, Role.INSTALLATION_ADMIN, username="installer")


def admin_client(cast, administrator):
    client = cast.client(None)
    client.force_login(administrator)
    return client


def test_the_administrator_opens_a_clinic_with_a_new_manager(cast, administrator):
    client = admin_client(cast, administrator)
    page = client.get(reverse("clinics"))
    assert page.status_code == 200
    assert "Clinic A" in page.content.decode() and "Clinic B" in page.content.decode()
    answer = client.post(reverse("clinics"), FORM, follow=True)
    assert answer.status_code == 200
    assert "Northgate HAT is open" in answer.content.decode()
    clinic = Clinic.objects.get(name="Northgate HAT")
    assert clinic.address == "1 High Street\nNorthgate"
    policy = policy_in_force(clinic=clinic, at=NOW)
    assert policy.capacity == 12 and [s.code for s in policy.slots.all()] == ["AM", "PM"]
    assert not RegisterSection.objects.filter(clinic=clinic).exists(), "an empty register"
    manager = get_user_model().objects.get(username="rowan")
    assert manager.check_password(NEW_PASSWORD) and manager.get_full_name() == "Rowan Price"
    assert roles_held(manager, clinic) == [Role.MANAGER]
    assert manager.has_perm("eligibility.add_clinicpolicy", clinic)
    assert not manager.has_perm("eligibility.add_clinicpolicy", cast.clinic_a)
    assert not manager.has_perm("eligibility.add_clinic", clinic), "not an administrator"
    assert not StaffMembership.objects.filter(user=administrator).exists(), (
        "the administrator does not join the clinic"
    )
    history = clinic.history.get()
    assert (history.history_user, history.history_change_reason) == (
        administrator,
        "Clinic opened",
    )


def test_an_existing_account_becomes_the_manager_and_keeps_its_password(cast, administrator):
    client = admin_client(cast, administrator)
    body = {**FORM, "manager_username": cast.nurse_b.username, "manager_password": ""}
    assert client.post(reverse("clinics"), body).status_code == 302
    clinic = Clinic.objects.get(name="Northgate HAT")
    assert roles_held(cast.nurse_b, clinic) == [Role.MANAGER]
    assert roles_held(cast.nurse_b, cast.clinic_b) == [Role.NURSE], "B as before"
    cast.nurse_b.refresh_from_db()
    assert cast.nurse_b.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"name": "clinic a"}, "name", "already a clinic called"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice"),
        ({"capacity": "0"}, "capacity", "greater than or equal to 1"),
        ({"manager_username": ""}, "manager_username", "This field is required"),
        ({"manager_first_name": ""}, "manager_first_name", "give the person's first name"),
        ({"manager_password": ""}, "manager_password", "set a first password"),
        ({"manager_password": "short"}, "manager_password", "too short"),
        ({"manager_username": "nurse_b"}, "manager_password", "already has an account"),
        ({"manager_username": "has space!"}, "manager_username", "Enter a valid username"),
        ({"manager_email": "not-an-address"}, "manager_email", "valid email"),
    ],
)
def test_each_refusal_stands_by_its_field_keeps_what_was_typed_and_opens_nothing(
    cast, administrator, change, field, says
):
    client = admin_client(cast, administrator)
    answer = client.post(reverse("clinics"), {**FORM, **change})
    assert answer.status_code == 400
    form = answer.context["form"]
    assert says.lower() in " ".join(form.errors[field]).lower(), form.errors
    html = answer.content.decode()
    assert 'value="Northgate HAT"' in html or change.get("name")
    assert 'value="Rowan"' in html or change.get("manager_first_name") == ""
    assert not Clinic.objects.filter(name="Northgate HAT").exists()
    assert not get_user_model().objects.filter(username="rowan").exists(), "nothing half-way"


@pytest.mark.parametrize("who", EVERYONE)
def test_no_one_but_an_installation_administrator_opens_a_clinic(cast, who):
    client = cast.client(who)
    page = client.get(reverse("clinics"))
    answer = client.post(reverse("clinics"), FORM)
    if who is None:
        assert page.status_code == 302 and answer.status_code == 302, "to the login page"
    else:
        assert (page.status_code, answer.status_code) == (403, 403)
    assert not Clinic.objects.filter(name="Northgate HAT").exists()


def test_the_navigation_offers_clinics_to_the_administrator_only(cast, administrator):
    html = admin_client(cast, administrator).get(reverse("home")).content.decode()
    assert f'href="{reverse("clinics")}"' in html
    manager_home = cast.client("manager").get(reverse("home")).content.decode()
    assert f'href="{reverse("clinics")}"' not in manager_home


def test_the_api_opens_a_clinic_for_the_administrator(cast, administrator):
    client = admin_client(cast, administrator)
    answer = client.post("/api/v1/clinics/", FORM, content_type="application/json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["name"], body["policy"]["capacity"]) == ("Northgate HAT", 12)
    listed = client.get("/api/v1/clinics/").json()["results"]
    assert [c["name"] for c in listed] == ["Clinic A", "Clinic B", "Northgate HAT"]
    taken = client.post("/api/v1/clinics/", FORM, content_type="application/json")
    assert taken.status_code == 400
    assert taken.json()["code"] == "clinic_name_taken"
    assert taken.json()["field"] == "name"


@pytest.mark.parametrize("who", [*EVERYONE])
def test_the_api_refuses_everyone_else(cast, who):
    answer = cast.client(who).post("/api/v1/clinics/", FORM, content_type="application/json")
    assert answer.status_code == 403
    assert not Clinic.objects.filter(name="Northgate HAT").exists()


def test_a_manager_cannot_make_anyone_an_installation_administrator(cast):
    """The one way roles are given in a clinic refuses the administrator's role."""
    from eligibility.roles import membership_roles_set
    from tests.helpers import refused

    membership = StaffMembership.objects.get(user=cast.nurse, clinic=cast.clinic_a)
    refused(
        "unknown_role",
        membership_roles_set,
        membership=membership,
        roles=[Role.INSTALLATION_ADMIN],
        changed_by=cast.manager,
        why="Promotion",
    )
    assert not cast.nurse.has_perm("eligibility.add_clinic", cast.clinic_a)


def test_the_command_gives_and_takes_the_role(cast):
    from io import StringIO

    from django.core.management import CommandError, call_command

    call_command("grant_installation_admin", cast.nurse.username, stdout=StringIO())
    nurse = get_user_model().objects.get(pk=cast.nurse.pk)
    assert roles_held(nurse, None) == [Role.INSTALLATION_ADMIN]
    assert nurse.has_perm("eligibility.add_clinic")
    call_command("grant_installation_admin", nurse.username, "--revoke", stdout=StringIO())
    assert not get_user_model().objects.get(pk=nurse.pk).has_perm("eligibility.add_clinic")
    with pytest.raises(CommandError, match="No account called ghost"):
        call_command("grant_installation_admin", "ghost")
