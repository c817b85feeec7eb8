"""The staff page (issue 18.2): a manager adds a person or invites them by a one-time
link that expires, sets their roles in the clinic, takes them off the staff, gives a
link to set a new password, and sees last login. Each change is kept with who and
why; a manager never grants the installation administrator's role nor acts outside
their clinics."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from core.roles import Role
from eligibility.models import StaffLink, StaffMembership
from eligibility.roles import roles_held
from eligibility.services import staff_member_add
from tests.conftest import EVERYONE
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
NEW_PASSWORD = "kestrel-harbour-lantern"


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


def invite(cast, **change):
    body = {
        "username": "jo",
        "first_name": "Jo",
        "last_name": "Baxter",
        "email": "jo@clinic.example",
        "roles": ["Nurse"],
        **change,
    }
    return cast.client("manager").post(reverse("staff-list"), body)


def link_in(page) -> str:
    """The path of the one-time link the page shows."""
    links = re.findall(r'value="(http[^"]+/welcome/[^"]+/)"', page)
    assert links, "the link is shown"
    return links[0].split("testserver", 1)[1]


def test_a_manager_invites_a_new_nurse_who_sets_a_password_and_logs_in(cast):
    page = invite(cast)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Give this link to" in html and "works once" in html
    path = link_in(html)
    jo = get_user_model().objects.get(username="jo")
    assert not jo.has_usable_password(), "no password until they set one"
    assert roles_held(jo, cast.clinic_a) == [Role.NURSE]
    visitor = cast.client(None)
    welcome = visitor.get(path)
    assert welcome.status_code == 200 and "Welcome to Clinic A" in welcome.content.decode()
    different = visitor.post(path, {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert different.status_code == 400
    assert "differ" in " ".join(different.context["form"].errors["new_password2"])
    weak = visitor.post(path, {"new_password1": "12345678901", "new_password2": "12345678901"})
    assert weak.status_code == 400
    assert "entirely numeric" in " ".join(weak.context["form"].errors["new_password1"])
    done = visitor.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.url == reverse("login")
    jo.refresh_from_db()
    assert jo.check_password(NEW_PASSWORD)
    again = visitor.get(path)
    assert again.status_code == 410 and "expired or has been used" in again.content.decode()


def test_the_link_expires(cast, _clock):
    path = link_in(invite(cast).content.decode())
    _clock.move_to(NOW + dt.timedelta(hours=72, seconds=1))
    assert cast.client(None).get(path).status_code == 410
    answer = cast.client(None).post(
        path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert answer.status_code == 410
    assert not get_user_model().objects.get(username="jo").has_usable_password()


def test_an_unknown_key_says_the_same_as_an_expired_one(cast):
    answer = cast.client(None).get(reverse("staff-link", args=["not-a-key"]))
    assert answer.status_code == 410


def test_an_existing_account_joins_with_its_password_and_roles_here(cast):
    answer = invite(cast, username=cast.nurse_b.username, roles=["Health-care assistant"])
    assert answer.status_code == 302
    assert roles_held(cast.nurse_b, cast.clinic_a) == [Role.HCA]
    assert roles_held(cast.nurse_b, cast.clinic_b) == [Role.NURSE]
    cast.nurse_b.refresh_from_db()
    assert cast.nurse_b.check_password(PASSWORD)
    assert not StaffLink.objects.exists(), "no link for an account that has a password"


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"roles": []}, "roles", "at least one role"),
        ({"roles": ["Installation administrator"]}, "roles", "valid choice"),
        ({"first_name": ""}, "first_name", "first name"),
        ({"username": "nurse_a"}, "username", "already on the staff"),
        ({"username": "bad name!"}, "username", "valid username"),
        ({"email": "nope"}, "email", "valid email"),
    ],
)
def test_each_refusal_stands_by_its_field_and_keeps_what_was_typed(cast, change, field, says):
    answer = invite(cast, **change)
    assert answer.status_code == 400
    errors = " ".join(answer.context["form"].errors[field]).lower()
    assert says.lower() in errors, answer.context["form"].errors
    html = answer.content.decode()
    if "last_name" not in change:
        assert 'value="Baxter"' in html
    assert not StaffLink.objects.exists()
    assert not get_user_model().objects.filter(username="jo").exists()


def _membership(cast, user):
    return StaffMembership.objects.get(user=user, clinic=cast.clinic_a)


def test_a_manager_changes_roles_with_a_reason_kept_in_the_history(cast):
    membership = _membership(cast, cast.hca)
    page = reverse("staff-detail", args=[membership.pk])
    client = cast.client("manager")
    assert client.get(page).status_code == 200
    no_reason = client.post(page, {"roles-roles": ["Nurse"], "roles-reason": ""})
    assert no_reason.status_code == 400
    ticked = re.findall(
        r'name="roles-roles" value="([^"]+)"[^>]*checked', no_reason.content.decode()
    )
    assert ticked == ["Nurse"], "what was ticked survives the refusal"
    done = client.post(page, {"roles-roles": ["Nurse"], "roles-reason": "Qualified as a nurse"})
    assert done.status_code == 302
    assert roles_held(cast.hca, cast.clinic_a) == [Role.NURSE]
    history = client.get(page).content.decode()
    assert "Qualified as a nurse" in history


def test_a_manager_cannot_take_away_their_own_manager_role(cast):
    page = reverse("staff-detail", args=[_membership(cast, cast.manager).pk])
    answer = cast.client("manager").post(
        page, {"roles-roles": ["Nurse"], "roles-reason": "Step down"}
    )
    assert answer.status_code == 400
    assert "your own manager" in " ".join(answer.context["roles_form"].errors["roles"])
    assert roles_held(cast.manager, cast.clinic_a) == [Role.MANAGER]


def test_taking_someone_off_the_staff_ends_their_access(cast):
    membership = _membership(cast, cast.hca)
    page = reverse("staff-detail", args=[membership.pk])
    hca_client = cast.client("hca")
    assert hca_client.get(reverse("board")).status_code == 200
    client = cast.client("manager")
    refused = client.post(page, {"off-reason": ""})
    assert refused.status_code == 400
    done = client.post(page, {"off-reason": "Left the service"})
    assert done.status_code == 302
    cast.hca.refresh_from_db()
    assert not cast.hca.is_active, "on no other clinic's staff: the account closes"
    assert hca_client.get(reverse("board")).status_code == 302, "logged out"
    listed = client.get(reverse("staff-list")).content.decode()
    assert 'data-testid="off-staff"' in listed and "since 2 Mar 2026" in listed
    back = invite(cast, username=cast.hca.username, roles=["Health-care assistant"])
    assert back.status_code == 302
    cast.hca.refresh_from_db()
    assert cast.hca.is_active and roles_held(cast.hca, cast.clinic_a) == [Role.HCA]


def test_someone_on_another_clinics_staff_keeps_their_account_when_taken_off(cast):
    staff_member_add(clinic=cast.clinic_b, user=cast.hca, roles=[Role.HCA])
    page = reverse("staff-detail", args=[_membership(cast, cast.hca).pk])
    assert cast.client("manager").post(page, {"off-reason": "Moved"}).status_code == 302
    cast.hca.refresh_from_db()
    assert cast.hca.is_active
    assert roles_held(cast.hca, cast.clinic_a) == [] and roles_held(cast.hca, cast.clinic_b)


def test_a_manager_gives_a_password_reset_link_and_the_old_password_stops(cast):
    membership = _membership(cast, cast.nurse)
    answer = cast.client("manager").post(reverse("staff-password-reset", args=[membership.pk]))
    assert answer.status_code == 200
    path = link_in(answer.content.decode())
    cast.nurse.refresh_from_db()
    assert not cast.nurse.check_password(PASSWORD)
    link = StaffLink.objects.get()
    assert (link.kind, link.created_by, link.clinic) == ("reset", cast.manager, cast.clinic_a)
    visitor = cast.client(None)
    assert "Set a new password" in visitor.get(path).content.decode()
    visitor.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    cast.nurse.refresh_from_db()
    assert cast.nurse.check_password(NEW_PASSWORD)


def test_a_manager_cannot_reset_someone_who_also_works_where_they_do_not_manage(cast):
    staff_member_add(clinic=cast.clinic_b, user=cast.nurse, roles=[Role.NURSE])
    membership = _membership(cast, cast.nurse)
    client = cast.client("manager")
    detail = client.get(reverse("staff-detail", args=[membership.pk])).content.decode()
    assert "also works in a clinic you do not manage" in detail
    answer = client.post(reverse("staff-password-reset", args=[membership.pk]))
    assert answer.status_code == 400
    assert "also works in a clinic you do not manage" in answer.content.decode()
    assert not StaffLink.objects.exists()
    cast.nurse.refresh_from_db()
    assert cast.nurse.check_password(PASSWORD)


def test_an_installation_administrator_on_the_staff_cannot_be_reset_by_a_manager(cast):
    admin = make_staff(cast.clinic_a, Role.NURSE, Role.INSTALLATION_ADMIN, username="root2")
    membership = _membership(cast, admin)
    answer = cast.client("manager").post(reverse("staff-password-reset", args=[membership.pk]))
    assert answer.status_code == 400 and "administers the installation" in answer.content.decode()
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)


def test_another_clinics_membership_is_a_404(cast):
    theirs = StaffMembership.objects.get(user=cast.nurse_b)
    client = cast.client("manager")
    assert client.get(reverse("staff-detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("staff-password-reset", args=[theirs.pk])).status_code == 404


@pytest.mark.parametrize("who", [w for w in EVERYONE if w != "manager"])
def test_only_a_manager_runs_the_staff(cast, who):
    membership = _membership(cast, cast.hca)
    client = cast.client(who)
    detail = client.get(reverse("staff-detail", args=[membership.pk]))
    added = invite(cast) if who is None else client.post(reverse("staff-list"), {"username": "x"})
    reset = client.post(reverse("staff-password-reset", args=[membership.pk]))
    expected = 302 if who is None else 403
    assert {detail.status_code, reset.status_code} == {expected}
    if who is not None:
        assert added.status_code == 403
    cast.hca.refresh_from_db()
    assert cast.hca.check_password(PASSWORD)


def test_the_list_shows_roles_and_last_login(cast):
    cast.client("nurse")  # force_login records no last login: set it as a login would
    cast.nurse.last_login = NOW - dt.timedelta(hours=3)
    cast.nurse.save(update_fields=["last_login"])
    html = cast.client("manager").get(reverse("staff-list")).content.decode()
    row = html.split('data-testid="staff-nurse_a"', 1)[1].split("</tr>", 1)[0]
    assert "Nurse" in row and "2 Mar 2026" in row


def test_the_api_adds_changes_takes_off_and_resets(cast):
    client = cast.client("manager")
    added = client.post(
        "/api/v1/staff/",
        {"username": "jo", "first_name": "Jo", "last_name": "Baxter", "roles": ["Nurse"]},
        content_type="application/json",
    )
    assert added.status_code == 201, added.json()
    body = added.json()
    assert body["roles"] == ["Nurse"] and "/welcome/" in body["link"]
    pk = body["id"]
    changed = client.patch(
        f"/api/v1/staff/{pk}/",
        {"roles": ["Nurse", "Prescriber"], "reason": "Non-medical prescriber"},
        content_type="application/json",
    )
    assert changed.status_code == 200 and set(changed.json()["roles"]) == {"Nurse", "Prescriber"}
    no_reason = client.patch(
        f"/api/v1/staff/{pk}/", {"roles": ["Nurse"]}, content_type="application/json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    admin_role = client.patch(
        f"/api/v1/staff/{pk}/",
        {"roles": ["Installation administrator"], "reason": "x"},
        content_type="application/json",
    )
    assert admin_role.status_code == 400
    reset = client.post(f"/api/v1/staff/{pk}/reset-password/", {}, content_type="application/json")
    assert reset.status_code == 200 and "/welcome/" in reset.json()["link"]
    assert reset.json()["link"] != body["link"]
    assert cast.client(None).get(body["link"].split("testserver")[1]).status_code == 410, (
        "a new link ends the old one"
    )
    off = client.post(
        f"/api/v1/staff/{pk}/deactivate/", {"reason": "Left"}, content_type="application/json"
    )
    assert off.status_code == 200 and off.json()["deactivated_at"]
    listed = client.get("/api/v1/staff/").json()["results"]
    assert {row["username"] for row in listed} >= {"jo", "nurse_a"}
    assert "link" not in listed[0], "a link is answered once, never listed"
