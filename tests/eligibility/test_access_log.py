"""Read access is audited (issue 16.8): who opened a service user's page, timeline,
prescriptions or audit history, and who ran a FHIR or CSV export, with when and from
which clinic. Managers see "who looked at this record" on the page and at
access-log/?service_user=ID. The log names what was opened and holds no clinical
content; the database keeps it append-only."""

import datetime as dt

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse

from core.append_only import APPEND_ONLY
from core.roles import Role
from dosing.register import register_section_add
from eligibility.models import AccessLog
from tests.factories import StaffClient, make_pharmacy_token, make_staff

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def opened(person):
    return {
        AccessLog.What.RECORD: reverse("service-user-detail", args=[person.pk]),
        AccessLog.What.TIMELINE: reverse("service-user-timeline", args=[person.pk]),
        AccessLog.What.PRESCRIPTIONS: reverse("prescription-list", args=[person.pk]),
        AccessLog.What.HISTORY: reverse("service-user-history", args=[person.pk]),
        AccessLog.What.FHIR_EXPORT: f"/api/v1/fhir/MedicationAdministration?patient={person.pk}",
    }


def test_each_page_and_export_of_a_record_is_logged_once_with_who_when_and_where(
    cast, service_user_a
):
    client = cast.client("manager")  # the one role that may open all five
    for what, url in opened(service_user_a).items():
        before = AccessLog.objects.count()
        assert client.get(url).status_code == 200, url
        assert AccessLog.objects.count() == before + 1, what
        entry = AccessLog.objects.latest("pk")
        assert (entry.user, entry.clinic, entry.service_user, entry.what, entry.at) == (
            cast.manager,
            cast.clinic_a,
            service_user_a,
            what,
            NOW,
        )


def test_csv_exports_are_logged_by_name(cast):
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True)
    client = cast.client("manager")
    client.get(reverse("dashboard-attendance"), {"export": "clinic"})
    client.get(reverse("register-csv", args=[section.pk]))
    assert list(AccessLog.objects.order_by("pk").values_list("what", "export", "service_user")) == [
        ("csv_export", "attendance by clinic", None),
        ("csv_export", f"CD register: {section}", None),
    ]


def test_a_refused_or_unknown_record_is_not_logged(cast, service_user_a):
    cast.client("nurse").get(reverse("service-user-history", args=[service_user_a.pk]))  # 403
    cast.client("nurse_b").get(reverse("service-user-detail", args=[service_user_a.pk]))  # 404
    Client().get(reverse("service-user-detail", args=[service_user_a.pk]))  # to login
    assert not AccessLog.objects.exists()


def test_the_log_holds_no_clinical_content():
    columns = {field.name for field in AccessLog._meta.concrete_fields}
    assert columns == {"id", "user", "clinic", "service_user", "what", "export", "at"}


def test_a_manager_sees_who_looked_at_this_record_and_other_roles_do_not(cast, service_user_a):
    cast.client("nurse").get(reverse("service-user-timeline", args=[service_user_a.pk]))
    page = cast.client("manager").get(reverse("service-user-detail", args=[service_user_a.pk]))
    rows = [(a.user, a.what) for a in page.context["accesses"]]
    assert rows == [(cast.manager, "record"), (cast.nurse, "timeline")]
    html = page.content.decode()
    assert "Who looked at this record" in html and cast.nurse.get_full_name() in html
    for who in ("nurse", "hca", "prescriber"):
        other = cast.client(who).get(reverse("service-user-detail", args=[service_user_a.pk]))
        assert other.context["accesses"] is None
        assert "Who looked at this record" not in other.content.decode()


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("nurse", 403),
        ("hca", 403),
        ("prescriber", 403),
        (None, 403),
    ],
)
def test_the_api_lists_a_records_accesses_to_managers_only(cast, service_user_a, who, status):
    cast.client("nurse").get(reverse("service-user-detail", args=[service_user_a.pk]))
    response = cast.client(who).get("/api/v1/access-log/", {"service_user": service_user_a.pk})
    assert response.status_code == status
    if status == 200:
        [entry] = response.json()["results"]
        assert (entry["user"], entry["user_name"], entry["what"], entry["service_user"]) == (
            cast.nurse.pk,
            cast.nurse.get_full_name(),
            "record",
            service_user_a.pk,
        )


def test_another_clinics_manager_sees_none_of_it(cast, service_user_a):
    cast.client("nurse").get(reverse("service-user-detail", args=[service_user_a.pk]))
    manager_b = make_staff(cast.clinic_b, Role.MANAGER, username="manager_b")
    client = StaffClient()
    client.force_login(manager_b)
    assert client.get("/api/v1/access-log/").json()["count"] == 0
    named = client.get("/api/v1/access-log/", {"service_user": service_user_a.pk})
    unknown = client.get("/api/v1/access-log/", {"service_user": 10**6})
    assert named.status_code == unknown.status_code == 400


def test_a_token_cannot_read_the_log(cast):
    _, key = make_pharmacy_token(cast.clinic_a, created_by=cast.manager)
    response = Client().get("/api/v1/access-log/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403


def test_the_database_keeps_the_log_append_only(cast, service_user_a):
    assert "eligibility.AccessLog" in APPEND_ONLY
    cast.client("nurse").get(reverse("service-user-detail", args=[service_user_a.pk]))
    for change in (
        lambda: AccessLog.objects.update(export="rewritten"),
        lambda: AccessLog.objects.all()._raw_delete(AccessLog.objects.db),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
