"""pharmacies/ (issue 18.4): the API twin of the Pharmacies pages."""

import pytest

from dosing.models import Pharmacy
from dosing.prescribing import pharmacy_add

pytestmark = pytest.mark.django_db
URL = "/api/v1/pharmacies/"


@pytest.fixture
def pharmacy(cast):
    return pharmacy_add(clinic=cast.clinic_a, name="High St Pharmacy", address="1 High St")


def send(cast, method, url, body, who="manager"):
    return getattr(cast.client(who), method)(url, body, content_type="application/json")


def test_a_manager_adds_changes_and_stops_using_a_pharmacy(cast):
    added = send(cast, "post", URL, {"name": "Quay Pharmacy", "address": "3 Quay St"})
    assert added.status_code == 201, added.json()
    url = f"{URL}{added.json()['id']}/"
    changed = send(cast, "patch", url, {"phone": "01642 000000", "reason": "New line"})
    assert changed.status_code == 200 and changed.json()["phone"] == "01642 000000"
    assert changed.json()["address"] == "3 Quay St", "what is not sent stays"
    stopped = send(cast, "post", f"{url}deactivate/", {"reason": "Closed"})
    assert stopped.status_code == 200 and stopped.json()["active"] is False
    again = send(cast, "post", f"{url}deactivate/", {"reason": "Closed"})
    assert (again.status_code, again.json()["code"]) == (409, "pharmacy_already_inactive")
    history = Pharmacy.objects.get(pk=added.json()["id"]).history.order_by("history_id")
    assert [h.history_change_reason for h in history] == ["Pharmacy added", "New line", "Closed"]
    in_use = cast.client("nurse").get(URL, {"active": "true"}).json()["results"]
    assert added.json()["id"] not in [row["id"] for row in in_use]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "High St Pharmacy", "address": "Elsewhere"}, 400, "name"),
        ({"address": "No name"}, 400, "name"),
        ({"name": "X", "address": "Y", "colour": "red"}, 400, "colour"),
    ],
)
def test_a_pharmacy_the_rules_refuse_is_a_400_naming_its_field(cast, pharmacy, body, status, field):
    answer = send(cast, "post", URL, body)
    assert answer.status_code == status
    payload = answer.json()
    assert payload.get("field") == field or field in payload
    assert Pharmacy.objects.count() == 1


def test_a_change_needs_its_reason_and_another_clinics_pharmacy_is_not_found(cast, pharmacy):
    url = f"{URL}{pharmacy.pk}/"
    assert send(cast, "patch", url, {"phone": "1"}).status_code == 400
    other = pharmacy_add(clinic=cast.clinic_b, name="Far Pharmacy", address="2 Far Rd")
    assert send(cast, "patch", f"{URL}{other.pk}/", {"reason": "x"}).status_code == 404
    assert (
        send(
            cast, "post", URL, {"clinic": cast.clinic_b.pk, "name": "Z", "address": "Z"}
        ).status_code
        == 404
    )
