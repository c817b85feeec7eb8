"""Two factors for staff (issue 16.2): the password opens nothing by itself; a code from
an authenticator app or a one-time recovery code completes the login; setting one up
with a QR code; and a manager's reset of a lost phone's second factor."""

import datetime as dt
import io
import os
import re
import subprocess
import sys
from base64 import b32decode

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.roles import Role
from eligibility.models import SecondFactorEvent
from tests.conftest import EVERYONE
from tests.factories import PASSWORD, make_pharmacy_token, make_staff, second_factor_code

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 26, 7, 55, tzinfo=dt.UTC)
Kind = SecondFactorEvent.Kind


def _password_only(user) -> Client:
    """A browser that has passed the password, and not yet the second factor."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def _second_step(client, code, next_url="/"):
    return client.post(reverse("two-factor"), {"code": code, "next": next_url})


# --- The password alone opens nothing --------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/service-users/", "/dosing/", "/password/", "/account/two-factor/", "/staff/"]
)
def test_a_password_alone_reaches_only_the_second_step(cast, path):
    client = _password_only(cast.manager)
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == f"{reverse('two-factor')}?next={path}"


def test_a_password_alone_reaches_no_api_by_its_session(cast):
    response = _password_only(cast.nurse).get("/api/v1/service-users/")
    assert response.status_code == 403
    assert response.json()["code"] == "second_factor_required"


def test_a_password_alone_reaches_no_admin_page(cast):
    admin = make_staff(None, username="root", is_staff=True, is_superuser=True)
    response = _password_only(admin).get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("two-factor"))


def test_the_board_poll_of_a_password_only_session_goes_to_the_second_step(cast):
    response = _password_only(cast.nurse).get(
        "/dosing/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/dosing/"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('two-factor')}?next=/dosing/"


def test_integration_tokens_need_no_second_factor(cast):
    _, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    response = Client().get("/api/v1/methadone-collections/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


# --- The second step ---------------------------------------------------------------------


def test_the_code_from_the_app_completes_the_login_and_goes_where_asked(cast):
    client = _password_only(cast.nurse)
    response = client.get("/two-factor/?next=/service-users/")
    assert response.status_code == 200
    assert b"authenticator app" in response.content
    response = _second_step(client, second_factor_code(cast.nurse), "/service-users/")
    assert response.status_code == 302 and response.url == "/service-users/"
    assert client.get("/service-users/").status_code == 200
    assert client.get("/api/v1/service-users/").status_code == 200


def test_a_wrong_code_is_refused_says_what_to_do_and_opens_nothing(cast):
    client = _password_only(cast.nurse)
    response = _second_step(client, "000000")
    assert response.status_code == 400
    assert "That code is not right" in response.context["form"].errors["code"][0]
    assert client.get("/").url.startswith(reverse("two-factor"))


def test_wrong_codes_make_the_next_try_wait_longer_each_time(cast):
    with time_machine.travel(T0, tick=False) as clock:
        client = _password_only(cast.nurse)
        _second_step(client, "000000")
        refused = _second_step(client, second_factor_code(cast.nurse))
        assert refused.status_code == 400
        assert "Wait 1 second, then try again" in refused.context["form"].errors["code"][0]
        clock.shift(dt.timedelta(seconds=2))
        _second_step(client, "000000")  # second failure: wait 2 seconds
        clock.shift(dt.timedelta(seconds=1))
        assert "Wait" in _second_step(client, "111111").context["form"].errors["code"][0]
        clock.shift(dt.timedelta(seconds=2))
        assert _second_step(client, second_factor_code(cast.nurse)).status_code == 302


def test_a_code_already_used_is_refused_a_second_time(cast):
    """A code seen over someone's shoulder cannot be replayed within its 30 seconds."""
    device = TOTPDevice.objects.get(user=cast.nurse)
    with time_machine.travel(T0, tick=False):
        code = f"{totp(device.bin_key):06d}"
        assert _second_step(_password_only(cast.nurse), code).status_code == 302
        assert _second_step(_password_only(cast.nurse), code).status_code == 400


def test_a_recovery_code_logs_in_once_and_says_how_many_are_left(cast):
    codes = _enrol_through_pages(make_staff(cast.clinic_a, second_factor=False, username="new"))
    user = get_user_model().objects.get(username="new")
    client = _password_only(user)
    response = _second_step(client, codes[0].upper())  # as typed: any case, with the dash
    assert response.status_code == 302
    assert "You have 9 left" in _messages(client)
    assert _second_step(_password_only(user), codes[0]).status_code == 400  # used up
    assert list(SecondFactorEvent.objects.filter(user=user).values_list("kind", flat=True)) == [
        Kind.RECOVERY_USED,
        Kind.ENROLLED,
    ]


def test_new_recovery_codes_replace_the_old_ones(cast):
    codes = _enrol_through_pages(make_staff(cast.clinic_a, second_factor=False, username="new"))
    user = get_user_model().objects.get(username="new")
    client = cast.client(None)
    client.force_login(user)
    renewed = client.post(reverse("two-factor-recovery-renew"))
    new_codes = renewed.context["codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    with time_machine.travel(dt.datetime.now(dt.UTC)) as clock:
        assert _second_step(_password_only(user), codes[1]).status_code == 400
        clock.shift(dt.timedelta(seconds=2))  # the wait after a wrong code
        assert _second_step(_password_only(user), new_codes[0]).status_code == 302
    account = client.get(reverse("two-factor-account"))
    assert account.context["recovery_left"] == 9


# --- Setting up an authenticator -----------------------------------------------------------


def _enrol_through_pages(user) -> list[str]:
    """Log in with the password, scan the QR code (read the key the page shows), type
    the app's code: the recovery codes shown."""
    client = _password_only(user)
    assert client.get("/").url == f"{reverse('two-factor')}?next=/"
    assert client.get(reverse("two-factor")).url.startswith(reverse("two-factor-setup"))
    page = client.get(reverse("two-factor-setup"))
    assert page.status_code == 200
    assert b"<svg" in page.content  # the QR code, drawn on the server: nothing leaves it
    key = b32decode(page.context["enrolment"].key.replace(" ", ""))
    done = client.post(reverse("two-factor-setup"), {"code": f"{totp(key):06d}", "next": "/"})
    assert done.status_code == 200, done.content[:500]
    assert client.get("/").status_code == 200  # this session passed the second factor
    return done.context["codes"]


def test_a_new_member_of_staff_sets_up_an_authenticator_with_a_qr_code(cast):
    user = make_staff(cast.clinic_a, second_factor=False, username="new")
    codes = _enrol_through_pages(user)
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}", c) for c in codes)
    assert TOTPDevice.objects.get(user=user).confirmed
    assert SecondFactorEvent.objects.get(user=user).kind == Kind.ENROLLED
    # The next login asks for the code, not for a new set-up.
    client = _password_only(user)
    assert _second_step(client, second_factor_code(user)).status_code == 302


def test_a_wrong_code_while_setting_up_keeps_the_same_qr_code(cast):
    user = make_staff(cast.clinic_a, second_factor=False, username="new")
    client = _password_only(user)
    key = client.get(reverse("two-factor-setup")).context["enrolment"].key
    with time_machine.travel(T0, tick=False):
        refused = client.post(reverse("two-factor-setup"), {"code": "12345"})
    assert refused.status_code == 400
    assert "That code is not right" in refused.context["form"].errors["code"][0]
    assert refused.context["enrolment"].key == key
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert client.get("/").status_code == 302


def test_a_password_alone_cannot_replace_an_authenticator(cast):
    """Someone who learnt the password must not set up their own phone in its place."""
    client = _password_only(cast.nurse)
    response = client.get(reverse("two-factor-setup"))
    assert response.status_code == 302 and response.url.startswith(reverse("two-factor"))
    assert TOTPDevice.objects.filter(user=cast.nurse).count() == 1


def test_a_verified_member_of_staff_moves_to_a_new_phone(cast):
    client = cast.client("nurse")
    old = TOTPDevice.objects.get(user=cast.nurse)
    page = client.get(reverse("two-factor-setup"))
    key = b32decode(page.context["enrolment"].key.replace(" ", ""))
    assert client.post(reverse("two-factor-setup"), {"code": f"{totp(key):06d}"}).status_code == 200
    new = TOTPDevice.objects.get(user=cast.nurse)  # the only one: the old phone's is gone
    assert new.pk != old.pk and new.confirmed and new.bin_key == key


# --- A manager's reset ---------------------------------------------------------------------


def test_a_manager_resets_a_lost_phone_and_the_old_sessions_must_pass_again(cast):
    nurse_session = cast.client("nurse")
    assert nurse_session.get("/").status_code == 200
    manager = cast.client("manager")
    membership = cast.nurse.memberships.get()
    url = reverse("staff-second-factor-reset", args=[membership.pk])
    assert b"Reset" in manager.get(url).content
    response = manager.post(url)
    assert response.status_code == 302 and response.url == reverse("staff-list")
    assert not TOTPDevice.objects.filter(user=cast.nurse).exists()
    assert not StaticDevice.objects.filter(user=cast.nurse).exists()
    event = SecondFactorEvent.objects.get(user=cast.nurse)
    assert (event.kind, event.by, event.clinic) == (Kind.RESET, cast.manager, cast.clinic_a)
    # The nurse's session verified by the old phone is verified no more ...
    assert nurse_session.get("/").url.startswith(reverse("two-factor"))
    # ... and their next login sets up an authenticator again.
    assert (
        _password_only(cast.nurse)
        .get(reverse("two-factor"))
        .url.startswith(reverse("two-factor-setup"))
    )


def test_a_manager_cannot_reset_their_own_nor_an_administrators(cast):
    manager = cast.client("manager")
    own = reverse("staff-second-factor-reset", args=[cast.manager.memberships.get().pk])
    refused = manager.post(own)
    assert refused.status_code == 400
    assert "cannot reset your own" in refused.context["refusal"]
    root = make_staff(cast.clinic_a, username="root", is_superuser=True, is_staff=True)
    refused = manager.post(reverse("staff-second-factor-reset", args=[root.memberships.get().pk]))
    assert (
        refused.status_code == 400 and "manage.py reset_second_factor" in refused.context["refusal"]
    )
    assert TOTPDevice.objects.filter(user__in=[cast.manager, root]).count() == 2


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 302),
        ("nurse", 403),
        ("hca", 403),
        ("prescriber", 403),
        ("nurse_b", 403),
        ("manager_b", 404),
    ],
)
def test_only_a_manager_of_the_clinic_resets(cast, who, status):
    membership = cast.hca.memberships.get()
    if who == "manager_b":
        # Another clinic's manager: the membership is not in their clinic.
        client = cast.client(None)
        client.force_login(make_staff(cast.clinic_b, Role.MANAGER, username="manager_b"))
    else:
        client = cast.client(who)
    response = client.post(reverse("staff-second-factor-reset", args=[membership.pk]))
    assert response.status_code == status
    assert TOTPDevice.objects.filter(user=cast.hca).exists() == (status != 302)


def test_an_anonymous_visitor_is_sent_to_log_in_from_the_staff_pages(cast):
    for url in (reverse("staff-list"), reverse("staff-second-factor-reset", args=[1])):
        response = Client().get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize("who", EVERYONE)
def test_the_staff_page_is_for_managers(cast, who):
    response = cast.client(who).get(reverse("staff-list"))
    expected = {"manager": 200, None: 302}.get(who, 403)
    assert response.status_code == expected


def test_the_staff_page_shows_roles_last_login_and_second_factor_in_fixed_queries(cast):
    make_staff(cast.clinic_a, second_factor=False, username="new")
    client = cast.client("manager")
    client.get("/")  # the session's own queries are paid once
    response = client.get(reverse("staff-list"))
    rows = {m.user.username: m for m in response.context["staff"]}
    assert set(rows) == {"nurse_a", "hca_a", "prescriber_a", "manager_a", "new"}
    assert rows["nurse_a"].second_factor and not rows["new"].second_factor
    assert b"Not set up" in response.content and b"nurse_b" not in response.content
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("staff-list"))
    for i in range(5):
        make_staff(cast.clinic_a, Role.NURSE, username=f"more{i}")
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("staff-list"))
    assert len(more) == len(few)


def test_the_command_line_resets_anyones_second_factor(cast):
    out = io.StringIO()
    call_command("reset_second_factor", cast.manager.username, stdout=out)
    assert "Reset manager_a's second factor" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=cast.manager).exists()
    event = SecondFactorEvent.objects.get(user=cast.manager)
    assert event.kind == Kind.RESET and event.by is None
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("reset_second_factor", "nobody")


# --- The API twin ---------------------------------------------------------------------------


def test_staff_api_lists_the_clinics_staff_and_resets(cast):
    client = cast.client("manager")
    listed = client.get("/api/v1/staff/").json()["results"]
    by_name = {row["username"]: row for row in listed}
    assert set(by_name) == {"nurse_a", "hca_a", "prescriber_a", "manager_a"}
    assert by_name["nurse_a"]["roles"] == ["Nurse"] and by_name["nurse_a"]["second_factor"]
    response = client.post(
        f"/api/v1/staff/{by_name['nurse_a']['id']}/reset-second-factor/",
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["second_factor"] is False
    own = client.post(
        f"/api/v1/staff/{by_name['manager_a']['id']}/reset-second-factor/",
        content_type="application/json",
    )
    assert own.status_code == 400 and own.json()["code"] == "own_second_factor"


@pytest.mark.parametrize("who", ["nurse", "hca", "prescriber", None])
def test_staff_api_refuses_other_roles(cast, who):
    membership = cast.nurse.memberships.get()
    client = cast.client(who)
    assert client.get("/api/v1/staff/").status_code == 403
    reset = client.post(f"/api/v1/staff/{membership.pk}/reset-second-factor/")
    assert reset.status_code == 403
    assert TOTPDevice.objects.filter(user=cast.nurse).exists()


def test_staff_api_hides_another_clinics_staff(cast):
    membership = cast.nurse_b.memberships.get()
    client = cast.client("manager")
    assert client.post(f"/api/v1/staff/{membership.pk}/reset-second-factor/").status_code == 404
    assert TOTPDevice.objects.filter(user=cast.nurse_b).exists()


# --- The development switch --------------------------------------------------------------------


def test_the_development_switch_lets_a_password_alone_in(cast, settings):
    settings.TWO_FACTOR_REQUIRED = False
    assert _password_only(cast.nurse).get("/").status_code == 200


def test_the_development_switch_is_refused_with_debug_off():
    env = {
        **os.environ,
        "DEBUG": "false",
        "TWO_FACTOR_REQUIRED": "false",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "hat.example",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "hat_clinic.settings"},
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
        check=False,
    )
    assert result.returncode != 0
    assert "TWO_FACTOR_REQUIRED=false is for development only" in result.stderr


def _messages(client) -> str:
    response = client.get("/")
    return " ".join(str(m) for m in response.context["messages"])


# --- What the review asked for ----------------------------------------------------------


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "http:/x"])
def test_the_second_step_never_sends_anyone_to_another_site(cast, target):
    client = _password_only(cast.nurse)
    response = _second_step(client, second_factor_code(cast.nurse), target)
    assert response.status_code == 302 and response.url == "/"


def test_wrong_recovery_codes_and_nonsense_are_throttled_too(cast):
    codes = _enrol_through_pages(make_staff(cast.clinic_a, second_factor=False, username="new"))
    user = get_user_model().objects.get(username="new")
    with time_machine.travel(T0, tick=False) as clock:
        client = _password_only(user)
        assert "not right" in _second_step(client, "not a code").context["form"].errors["code"][0]
        refused = _second_step(client, codes[0])
        assert "Wait 1 second" in refused.context["form"].errors["code"][0]
        clock.shift(dt.timedelta(seconds=1))
        assert _second_step(client, codes[0]).status_code == 302


def test_the_wait_after_many_wrong_codes_is_at_most_about_nine_minutes(cast):
    device = TOTPDevice.objects.get(user=cast.nurse)
    with time_machine.travel(T0, tick=False) as clock:
        TOTPDevice.objects.filter(pk=device.pk).update(
            throttling_failure_count=40, throttling_failure_timestamp=T0
        )
        client = _password_only(cast.nurse)
        refused = _second_step(client, second_factor_code(cast.nurse))
        assert "Wait 9 minutes" in refused.context["form"].errors["code"][0]
        clock.shift(dt.timedelta(seconds=512))
        assert _second_step(client, second_factor_code(cast.nurse)).status_code == 302


def test_a_wrong_code_while_setting_up_is_throttled(cast):
    user = make_staff(cast.clinic_a, second_factor=False, username="new")
    with time_machine.travel(T0, tick=False):
        client = _password_only(user)
        client.get(reverse("two-factor-setup"))
        client.post(reverse("two-factor-setup"), {"code": "000000"})
        refused = client.post(reverse("two-factor-setup"), {"code": "111111"})
    assert "Wait 1 second" in refused.context["form"].errors["code"][0]


def test_the_key_being_set_up_belongs_to_the_browser_that_asked_for_it(cast):
    """Someone else who knows the password cannot read, from their own browser, the key
    the person is about to scan, nor confirm the person's half-done set-up."""
    user = make_staff(cast.clinic_a, second_factor=False, username="new")
    mine, theirs = _password_only(user), _password_only(user)
    my_key = mine.get(reverse("two-factor-setup")).context["enrolment"].key
    their_key = theirs.get(reverse("two-factor-setup")).context["enrolment"].key
    assert my_key != their_key
    assert mine.get(reverse("two-factor-setup")).context["enrolment"].key == my_key
    code = f"{totp(b32decode(my_key.replace(' ', ''))):06d}"
    assert theirs.post(reverse("two-factor-setup"), {"code": code}).status_code == 400
    assert mine.post(reverse("two-factor-setup"), {"code": code}).status_code == 200
    # The other browser's key died with the confirmation.
    assert list(TOTPDevice.objects.filter(user=user).values_list("confirmed", flat=True)) == [True]


def test_a_password_alone_cannot_post_a_new_authenticator_either(cast):
    client = _password_only(cast.nurse)
    response = client.post(reverse("two-factor-setup"), {"code": "123456"})
    assert response.status_code == 302 and response.url.startswith(reverse("two-factor"))
    assert TOTPDevice.objects.filter(user=cast.nurse).count() == 1


def test_the_staff_page_offers_no_reset_it_would_refuse(cast):
    root = make_staff(cast.clinic_a, username="root", is_superuser=True, is_staff=True)
    rows = {
        m.user.username: m.may_reset
        for m in cast.client("manager").get(reverse("staff-list")).context["staff"]
    }
    assert rows["nurse_a"] and not rows["manager_a"] and not rows[root.username]
    page = cast.client("manager").get(
        reverse("staff-second-factor-reset", args=[cast.manager.memberships.get().pk])
    )
    assert "cannot reset your own" in page.context["refusal"]
    assert b'type="submit">Reset second factor' not in page.content


def test_staff_api_refuses_an_administrators_reset_and_lists_no_token_accounts(cast):
    root = make_staff(cast.clinic_a, username="root", is_superuser=True, is_staff=True)
    make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    client = cast.client("manager")
    listed = {row["username"]: row for row in client.get("/api/v1/staff/").json()["results"]}
    assert set(listed) == {"nurse_a", "hca_a", "prescriber_a", "manager_a", "root"}
    refused = client.post(
        f"/api/v1/staff/{listed['root']['id']}/reset-second-factor/",
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["code"] == "administrator"
    assert TOTPDevice.objects.filter(user=root).exists()
