"""Pharmacies in the browser's pages (issue 18.4): a manager adds one, changes its
contact details and stops using it, each in its history with who and why; a
pharmacy no longer used cannot be named by a new methadone prescription; refusals
keep what was typed; the role cast."""

import pytest
from django.urls import reverse

from dosing.models import Pharmacy
from dosing.prescribing import methadone_prescribe, pharmacy_add
from tests.dosing.room_setup import on_prescription

pytestmark = pytest.mark.django_db

NEW = {"name": "Harbour Pharmacy", "address": "3 Quay St", "ods_code": "fx123", "phone": "01642"}


@pytest.fixture
def pharmacy(cast):
    return pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")


def test_a_manager_adds_a_pharmacy(cast):
    done = cast.client("manager").post(reverse("pharmacies"), NEW, follow=True)
    assert "Harbour Pharmacy added." in done.content.decode()
    added = Pharmacy.objects.get(name="Harbour Pharmacy")
    assert (added.clinic, added.ods_code, added.active) == (cast.clinic_a, "FX123", True)
    assert added.history.get().history_user == cast.manager


def test_a_second_pharmacy_of_the_same_name_is_refused_and_what_was_typed_stays(cast, pharmacy):
    refused = cast.client("manager").post(reverse("pharmacies"), {**NEW, "name": pharmacy.name})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'data-error-for="name"' in page
    assert refused.context["form"]["address"].value() == "3 Quay St"
    assert Pharmacy.objects.count() == 1


def test_a_manager_changes_the_details_with_a_reason_kept_in_the_history(cast, pharmacy):
    url = reverse("pharmacy-detail", args=[pharmacy.pk])
    fields = {f"change-{k}": v for k, v in {**NEW, "name": "High St Pharmacy"}.items()}
    refused = cast.client("manager").post(url, fields)
    assert refused.status_code == 400 and 'data-error-for="change-reason"' in (
        refused.content.decode()
    )
    assert refused.context["change"]["phone"].value() == "01642"
    cast.client("manager").post(url, {**fields, "change-reason": "New phone line"})
    pharmacy.refresh_from_db()
    assert (pharmacy.phone, pharmacy.address) == ("01642", "3 Quay St")
    latest = pharmacy.history.first()
    assert (latest.history_user, latest.history_change_reason) == (cast.manager, "New phone line")


def test_a_pharmacy_no_longer_used_cannot_be_named_by_a_new_methadone_prescription(cast, pharmacy):
    url = reverse("pharmacy-detail", args=[pharmacy.pk])
    refused = cast.client("manager").post(url, {"stop-reason": ""})
    assert refused.status_code == 400
    pharmacy.refresh_from_db()
    assert pharmacy.active
    done = cast.client("manager").post(url, {"stop-reason": "Closed"}, follow=True)
    assert "High St Pharmacy is no longer used by the clinic." in done.content.decode()
    pharmacy.refresh_from_db()
    assert not pharmacy.active
    person = on_prescription(cast)
    from core.errors import RuleViolation

    with pytest.raises(RuleViolation) as refusal:
        methadone_prescribe(
            service_user=person,
            prescriber=cast.prescriber,
            nightly_dose_mg="30",
            pharmacy=pharmacy,
            reason="Overnight cover",
        )
    assert (refusal.value.code, refusal.value.field) == ("pharmacy_inactive", "pharmacy")


@pytest.mark.parametrize(
    ("who", "list_status", "change_status"),
    [
        ("manager", 200, 200),
        ("nurse", 200, 403),
        ("hca", 200, 403),
        ("prescriber", 200, 403),
        ("nurse_b", 200, 403),
        (None, 302, 302),
    ],
)
def test_the_role_cast(cast, pharmacy, who, list_status, change_status):
    client = cast.client(who)
    listed = client.get(reverse("pharmacies"))
    assert listed.status_code == list_status
    if who == "nurse_b":
        assert "High St Pharmacy" not in listed.content.decode(), "another clinic's"
    assert client.get(reverse("pharmacy-detail", args=[pharmacy.pk])).status_code == change_status
    client.post(reverse("pharmacies"), NEW)
    assert Pharmacy.objects.filter(name=NEW["name"]).exists() == (who == "manager")


def test_another_clinics_manager_finds_no_such_pharmacy(cast, pharmacy):
    from core.roles import Role
    from tests.factories import StaffClient, make_staff

    manager_b = make_staff(cast.clinic_b, Role.MANAGER, username="manager_b")
    client = StaffClient()
    client.force_login(manager_b)
    url = reverse("pharmacy-detail", args=[pharmacy.pk])
    assert client.get(url).status_code == 404
    client.post(url, {"stop-reason": "Not mine"})
    pharmacy.refresh_from_db()
    assert pharmacy.active


def test_the_methadone_form_offers_only_pharmacies_in_use(cast, pharmacy):
    from dosing.prescribing import pharmacy_deactivate

    other = pharmacy_add(clinic=cast.clinic_a, name="Quay Pharmacy", address="3 Quay St")
    pharmacy_deactivate(pharmacy=pharmacy, by=cast.manager, reason="Closed")
    person = on_prescription(cast)
    page = cast.client("prescriber").get(reverse("methadone-new", args=[person.pk]))
    offered = list(page.context["form"].fields["pharmacy"].queryset)
    assert offered == [other]
