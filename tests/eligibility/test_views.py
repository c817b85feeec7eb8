"""Every page against the whole cast: who may see it, who gets 403, 404 or the login page."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from core.roles import Role
from eligibility.models import Status
from tests.conftest import CLINICS_OPENED, EVERYONE
from tests.factories import make_service_user
from tests.helpers import names_staff

pytestmark = pytest.mark.django_db


def _expect(response, expected):
    if expected == "login":
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    else:
        assert response.status_code == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("nurse", 200),
        ("hca", 200),
        ("prescriber", 200),
        ("manager", 200),
        ("nurse_b", 404),
        (None, "login"),
    ],
)
def test_service_user_page_is_scoped_to_the_clinic(cast, service_user_a, who, expected):
    response = cast.client(who).get(reverse("service-user-detail", args=[service_user_a.pk]))
    _expect(response, expected)
    if expected == 200:
        assert b"Ali" in response.content
        assert b"999" in response.content  # the NHS number, formatted


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("manager", 200),
        ("nurse", 403),
        ("hca", 403),
        ("prescriber", 403),
        ("nurse_b", 404),
        (None, "login"),
    ],
)
def test_only_a_manager_reads_a_records_audit_history(cast, service_user_a, who, expected):
    response = cast.client(who).get(reverse("service-user-history", args=[service_user_a.pk]))
    _expect(response, expected)
    if expected == 200:
        page = response.content.decode()
        assert "Test set-up" in page  # the reason given for each step
        names_staff(page, cast.prescriber)  # who made the change
        assert "Induction and titration" not in page or "status" in page


def test_audit_history_shows_each_change_with_old_and_new_values(cast, service_user_a):
    response = cast.client("manager").get(reverse("service-user-history", args=[service_user_a.pk]))
    changes = response.context["changes"]
    # registered, then assessing, titration and maintenance: newest first
    assert [c["record"].status for c in changes] == [
        Status.MAINTENANCE,
        Status.TITRATION,
        Status.ASSESSING,
        Status.REFERRED,
    ]
    assert ("status", Status.TITRATION, Status.MAINTENANCE) in changes[0]["diff"]
    assert all(c["record"].history_user == cast.prescriber for c in changes)


def test_the_status_changes_name_who_made_each_one(cast, service_user_a):
    page = cast.client("nurse").get(reverse("service-user-detail", args=[service_user_a.pk]))
    html = page.content.decode()
    names_staff(html[html.index('<th scope="col">By</th>') :], cast.prescriber)


def test_a_policy_version_names_the_manager_who_issued_it(cast):
    from eligibility.services import policy_issue

    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=CLINICS_OPENED + dt.timedelta(days=1),
        reason="More places",
        capacity=20,
        now=CLINICS_OPENED,
    )
    html = cast.client("manager").get(reverse("clinic-policy")).content.decode()
    (header,) = re.findall(
        r'<div class="card-header">(?:<span[^>]*>[^<]*</span>)?([^<]*More places[^<]*)</div>', html
    )
    assert header.endswith(f"· {escape(cast.manager.get_full_name())}")
    assert cast.manager.username not in html


@pytest.mark.parametrize("who", EVERYONE)
def test_the_service_user_list_shows_only_the_own_clinics_people(cast, who):
    make_service_user(cast.clinic_a, given_name="Aaron", family_name="Alpha")
    make_service_user(cast.clinic_b, given_name="Bella", family_name="Bravo")
    response = cast.client(who).get(reverse("service-user-list"))
    if who is None:
        _expect(response, "login")
        return
    assert response.status_code == 200
    # The listed people only: a member of staff may happen to be called Aaron too.
    listed = {person.family_name for person in response.context["page"]}
    assert listed == ({"Bravo"} if who == "nurse_b" else {"Alpha"})


def test_the_list_runs_a_fixed_number_of_queries(cast, django_assert_max_num_queries):
    client = cast.client("nurse")
    for n in range(40):
        make_service_user(
            cast.clinic_a, Status.MAINTENANCE, flags=["alcohol"], family_name=f"Person{n}"
        )
    with django_assert_max_num_queries(13):  # with the session's second-factor device
        response = client.get(reverse("service-user-list"))
    assert len(response.context["page"]) == 40


def test_the_list_filters_by_status(cast):
    make_service_user(cast.clinic_a, Status.WAITING, given_name="Wendy")
    make_service_user(cast.clinic_a, Status.MAINTENANCE, given_name="Mo")
    page = cast.client("nurse").get(reverse("service-user-list"), {"status": "waiting"})
    assert [su.given_name for su in page.context["page"]] == ["Wendy"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("nurse", 200),
        ("hca", 200),
        ("prescriber", 200),
        ("manager", 200),
        ("nurse_b", 200),
        (None, "login"),
    ],
)
def test_home_names_the_clinic_and_the_roles(cast, who, expected):
    response = cast.client(who).get(reverse("home"))
    _expect(response, expected)
    if expected == 200:
        page = response.content.decode()
        assert ("Clinic B" if who == "nurse_b" else "Clinic A") in page
        assert ("Clinic A" not in page) if who == "nurse_b" else ("Clinic B" not in page)


def test_navigation_shows_the_staff_members_roles(cast):
    page = cast.client("prescriber").get(reverse("home")).content.decode()
    assert "Prescriber" in page
    assert "Audit history" not in page


def test_staff_of_two_clinics_switch_between_them(cast):
    from eligibility.services import staff_member_add

    staff_member_add(clinic=cast.clinic_b, user=cast.manager, roles=[Role.MANAGER])
    client = cast.client("manager")
    assert client.get(reverse("home")).context["current_clinic"] == cast.clinic_a
    client.post(reverse("clinic-switch"), {"clinic": cast.clinic_b.pk})
    assert client.get(reverse("home")).context["current_clinic"] == cast.clinic_b


def test_nobody_switches_into_a_clinic_they_do_not_work_in(cast):
    client = cast.client("nurse")
    response = client.post(reverse("clinic-switch"), {"clinic": cast.clinic_b.pk})
    assert response.status_code == 404
    assert client.get(reverse("home")).context["current_clinic"] == cast.clinic_a


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("manager", 200),
        ("nurse", 403),
        ("hca", 403),
        ("prescriber", 403),
        ("nurse_b", 403),
        (None, "login"),
    ],
)
def test_the_policy_page_is_for_managers_and_shows_their_clinics_versions(cast, who, expected):
    response = cast.client(who).get(reverse("clinic-policy"))
    _expect(response, expected)
    if expected == 200:
        assert [p.clinic for p in response.context["versions"]] == [cast.clinic_a]
        assert "AM 08:00-11:30" in response.content.decode()


def test_a_manager_of_clinic_b_sees_only_clinic_bs_policy(cast):
    from core.roles import Role
    from tests.factories import make_staff

    manager_b = make_staff(cast.clinic_b, Role.MANAGER)
    client = cast.client(None)
    client.force_login(manager_b)
    response = client.get(reverse("clinic-policy"))
    assert [p.clinic for p in response.context["versions"]] == [cast.clinic_b]


@pytest.mark.parametrize(
    ("who", "links"),
    [
        ("nurse", ["Today", "Dosing room", "Alerts", "Service users", "Referrals", "CD register"]),
        ("hca", ["Today", "Dosing room", "Alerts", "Service users", "Referrals", "CD register"]),
        (
            "prescriber",
            [
                "Today",
                "Dosing room",
                "Alerts",
                "Service users",
                "Referrals",
                "CD register",
                "Reviews",
            ],
        ),
        (
            "manager",
            [
                "Today",
                "Dosing room",
                "Alerts",
                "Service users",
                "Referrals",
                "CD register",
                "Dashboards",
                "Clinic policy",
                "Service closure",
                "Staff",
            ],
        ),
    ],
)
def test_navigation_follows_the_role(cast, who, links):
    response = cast.client(who).get(reverse("home"))
    assert [entry.label for entry in response.context["navigation"]] == links
    page = response.content.decode()
    assert ("Clinic policy" in page) == ("Clinic policy" in links)


@pytest.mark.parametrize(("who", "expected"), [("nurse", 200), ("nurse_b", 404), (None, "login")])
def test_photos_are_served_only_to_the_clinics_staff(
    cast, service_user_a, who, expected, settings, tmp_path
):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    service_user_a.photo.save("ali.png", ContentFile(b"\x89PNG fake"), save=True)
    response = cast.client(who).get(reverse("service-user-photo", args=[service_user_a.pk]))
    _expect(response, expected)
    if expected == 200:
        assert {"private", "no-store"} <= set(response["Cache-Control"].split(", "))
        assert b"".join(response.streaming_content) == b"\x89PNG fake"


def test_pages_show_times_in_the_clinics_own_zone(cast, service_user_a):
    from eligibility.services import clinic_create, staff_member_add

    far = clinic_create(name="Clinic Z", time_zone="Pacific/Auckland")
    person = make_service_user(far, Status.MAINTENANCE)
    staff_member_add(clinic=far, user=cast.nurse_b, roles=[Role.NURSE])
    client = cast.client("nurse_b")
    client.post(reverse("clinic-switch"), {"clinic": far.pk})
    page = client.get(reverse("service-user-detail", args=[person.pk]))
    from django.utils import timezone

    local = timezone.localtime(person.status_changed_at, far.zone)
    assert f"{local:%H:%M}".encode() in page.content
