"""Login, lockout after repeated failures, password hashing and session lifetime."""

import datetime as dt
import ipaddress

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, second_factor_code

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 26, 7, 55, tzinfo=dt.UTC)


def _login(username, password, address="192.0.2.10"):
    client = Client(REMOTE_ADDR=address)
    return client, client.post(reverse("login"), {"username": username, "password": password})


def test_staff_log_in_and_land_on_their_clinic(cast):
    client, response = _login(cast.nurse.username, PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("home")
    # The password alone opens nothing: the second step comes first (test_second_factor).
    assert client.get(reverse("home")).url == f"{reverse('two-factor')}?next=/"
    code = {"code": second_factor_code(cast.nurse), "next": "/"}
    assert client.post(reverse("two-factor"), code).url == "/"
    assert b"Clinic A" in client.get(reverse("home")).content


def test_a_wrong_password_says_so_without_saying_which_part_was_wrong(cast):
    _, response = _login(cast.nurse.username, "not-the-password")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_five_failures_lock_that_username_from_that_address(cast):
    for _ in range(5):
        _login(cast.nurse.username, "wrong")
    client, response = _login(cast.nurse.username, PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert client.get(reverse("home")).status_code == 302  # still not logged in


PROXY = "10.0.0.1"


def _via_proxy(username, password, forwarded, remote=PROXY):
    client = Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    return client.post(reverse("login"), {"username": username, "password": password})


def test_behind_a_trusted_proxy_an_outsider_locks_a_username_only_for_their_own_address(
    cast, settings
):
    """Issue 16.7: behind a proxy axes saw one address, so anyone could lock any
    account by its username. With the proxy trusted, the client's own address counts."""
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    for _ in range(5):
        _via_proxy(cast.nurse.username, "wrong", "203.0.113.9")
    assert _via_proxy(cast.nurse.username, PASSWORD, "198.51.100.20").status_code == 302
    assert _via_proxy(cast.nurse.username, PASSWORD, "203.0.113.9").status_code == 429
    # A client's own X-Forwarded-For before the proxy's is not believed.
    assert _via_proxy(cast.nurse.username, PASSWORD, "198.51.100.20, 203.0.113.9").status_code == (
        429
    )


def test_without_the_proxy_trusted_everyone_behind_it_is_one_address(cast):
    for _ in range(5):
        _via_proxy(cast.nurse.username, "wrong", "203.0.113.9")
    assert _via_proxy(cast.nurse.username, PASSWORD, "198.51.100.20").status_code == 429


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(cast, settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    for n in range(5):
        _via_proxy(cast.nurse.username, "wrong", f"192.0.2.{n}", remote="203.0.113.9")
    assert (
        _via_proxy(cast.nurse.username, PASSWORD, "192.0.2.99", remote="203.0.113.9").status_code
        == 429
    )


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not a proxy: its own address
        (PROXY, "198.51.100.1", "198.51.100.1"),
        (PROXY, "198.51.100.1, 10.0.0.2", "198.51.100.1"),  # two proxies of ours
        (PROXY, "spoofed, 198.51.100.1", "198.51.100.1"),
        (PROXY, "198.51.100.1, not-an-address", PROXY),
        (PROXY, "", PROXY),
    ],
)
def test_the_client_address_is_the_nearest_untrusted_one(settings, remote, forwarded, client):
    from django.test import RequestFactory

    from hat_clinic.network import client_ip

    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/24")]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == client


def test_four_failures_do_not_lock(cast):
    for _ in range(4):
        _login(cast.nurse.username, "wrong")
    _, response = _login(cast.nurse.username, PASSWORD)
    assert response.status_code == 302


def test_a_lockout_is_by_username_and_address_together(cast):
    for _ in range(5):
        _login(cast.nurse.username, "wrong", address="192.0.2.10")
    # The same person from another device, and a colleague on the same PC, still get in.
    assert _login(cast.nurse.username, PASSWORD, address="192.0.2.99")[1].status_code == 302
    assert _login(cast.hca.username, PASSWORD, address="192.0.2.10")[1].status_code == 302


def test_the_lockout_ends_after_the_cool_off(cast):
    with time_machine.travel(T0, tick=False) as clock:
        for _ in range(5):
            _login(cast.nurse.username, "wrong")
        assert _login(cast.nurse.username, PASSWORD)[1].status_code == 429
        clock.shift(dt.timedelta(minutes=31))
        assert _login(cast.nurse.username, PASSWORD)[1].status_code == 302


def test_passwords_are_hashed_with_argon2(cast):
    cast.nurse.set_password("a-new-long-password")
    cast.nurse.save()
    assert cast.nurse.password.startswith("argon2$")


def test_logout_is_a_post_and_ends_the_session(cast):
    client = cast.client("nurse")
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_a_session_ends_after_30_minutes_idle(cast):
    with time_machine.travel(T0, tick=False) as clock:
        client = cast.client("nurse")
        assert client.get(reverse("home")).status_code == 200
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200  # activity renews it
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200
        clock.shift(dt.timedelta(minutes=31))
        response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


POLL = {"HTTP_X_AUTOMATIC_REQUEST": "1", "HTTP_HX_REQUEST": "true"}


def test_the_boards_poll_does_not_keep_an_unattended_session_alive(cast):
    """Issue 16.7: polls are answered while the session lasts, but only a person's own
    requests renew it, so a dosing-room PC left alone locks after 30 minutes."""
    with time_machine.travel(T0, tick=False) as clock:
        client = cast.client("nurse")
        assert client.get(reverse("board")).status_code == 200
        for _ in range(3):  # a poll every 9 minutes: the board is answered
            clock.shift(dt.timedelta(minutes=9))
            poll = client.get(reverse("board"), **POLL)
            assert poll.status_code == 200 and "HX-Redirect" not in poll
        clock.shift(dt.timedelta(minutes=4))  # 31 minutes since the nurse last did anything
        poll = client.get(reverse("board"), **POLL, HTTP_HX_CURRENT_URL="http://testserver/dosing/")
        assert poll.status_code == 200
        assert poll["HX-Redirect"] == f"{reverse('login')}?next=/dosing/", "the whole page goes"
        page = client.get(reverse("board"), follow=True)
    assert page.redirect_chain[0][0].startswith(reverse("login"))
    assert b"logged out after 30 minutes without activity" in page.content


def test_a_persons_own_request_renews_the_idle_time_and_a_poll_does_not(cast):
    with time_machine.travel(T0, tick=False) as clock:
        client = cast.client("nurse")
        client.get(reverse("home"))
        clock.shift(dt.timedelta(minutes=20))
        client.get(reverse("board"), **POLL)
        clock.shift(dt.timedelta(minutes=5))
        assert client.get(reverse("home")).status_code == 200  # the nurse, 25 minutes on
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(reverse("board"), **POLL).status_code == 200
        assert "HX-Redirect" not in client.get(reverse("board"), **POLL)


def test_every_answer_but_a_static_file_says_no_store(cast, settings):
    settings.WHITENOISE_USE_FINDERS = True  # as runserver has; production uses STATIC_ROOT
    settings.WHITENOISE_AUTOREFRESH = True
    client = cast.client("nurse")
    answers = {
        "page": client.get(reverse("home")),
        "api": client.get("/api/v1/service-users/"),
        "refusal": client.get("/api/v1/service-users/999999/"),
        "login page": Client().get(reverse("login")),
    }
    for name, response in answers.items():
        assert "no-store" in response["Cache-Control"], name
        assert "private" in response["Cache-Control"], name
        assert "camera=()" in response["Permissions-Policy"], name
    static = Client().get("/static/css/clinic.css")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")


def test_a_session_ends_after_12_hours_however_busy(cast):
    with time_machine.travel(T0, tick=False) as clock:
        client = cast.client("nurse")
        for _ in range(12 * 3):  # a request every 20 minutes for 12 hours
            assert client.get(reverse("home")).status_code == 200
            clock.shift(dt.timedelta(minutes=20))
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
        assert b"12-hour limit" in client.get(response.url).content
        assert client.get(reverse("home")).status_code == 302  # logged out, not just redirected


def test_every_page_needs_a_login():
    client = Client()
    for name in ("home", "service-user-list", "clinic-policy"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    assert client.get("/api/v1/service-users/").status_code == 403


def test_each_refused_login_is_logged_without_clinical_data(cast, caplog):
    """Issue 9.6: each failure and the lockout are logged (axes masks the username
    and address in the log; its database keeps them for audit), and nothing about
    any service user."""
    import logging

    from tests.factories import make_service_user

    person = make_service_user(cast.clinic_a, given_name="Siobhan", family_name="Quigley")
    with caplog.at_level(logging.WARNING, logger="axes"):
        for _ in range(6):
            _login(cast.nurse.username, "wrong")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("axes")]
    assert sum(line.startswith("AXES: ") for line in lines) >= 6, "each of the six"
    assert sum("Locking out" in line for line in lines) >= 1
    text = " ".join(lines)
    for clinical in (person.given_name, person.family_name, person.nhs_number, "wrong"):
        assert clinical not in text


@pytest.mark.parametrize("who", ["nurse", "hca", "prescriber", "manager", "nurse_b", None])
def test_every_member_of_staff_may_change_their_own_password_and_nobody_else_may(cast, who):
    response = cast.client(who).get(reverse("password-change"))
    assert response.status_code == (302 if who is None else 200)
    if who is None:
        assert response.url.startswith(reverse("login"))


def test_a_new_password_follows_the_rules_and_the_session_goes_on(cast):
    client = cast.client("nurse")
    url = reverse("password-change")
    weak = client.post(
        url, {"old_password": PASSWORD, "new_password1": "nurse_a", "new_password2": "nurse_a"}
    )
    assert weak.status_code == 400 and weak.context["form"].errors["new_password2"]
    new = "a-new-long-passphrase-42"
    done = client.post(url, {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert done.status_code == 302
    cast.nurse.refresh_from_db()
    assert cast.nurse.check_password(new)
    assert client.get(reverse("home")).status_code == 200, "still logged in"
