"""guest-stays/ (issue 19.5): a stay across both clinics through the API, with a miss
at the host, and each refusal with its status."""

import pytest
import time_machine

from alerts.models import AlertKind
from core.roles import Role
from dosing.models import GuestStay
from tests.dosing.guest_setup import EVE, NEXT, at, host_staff
from tests.dosing.room_setup import DAY, on_prescription
from tests.factories import PASSWORD, StaffClient, make_clinic, make_staff

pytestmark = pytest.mark.django_db


def client_of(user):
    client = StaffClient()
    client.force_login(user)
    return client


def post(client, path, body):
    return client.post(f"/api/v1/{path}", body, content_type="application/json")


def stay_body(person, host, **changes):
    return {
        "service_user": person.pk,
        "host_clinic": host.pk,
        "first_day": str(DAY),
        "last_day": str(NEXT),
        "reason": "Visiting family in Leeds",
        **changes,
    }


def sessions_of(client, person, day, slot):
    answer = client.get(
        "/api/v1/dose-sessions/", {"service_user": person.pk, "date": str(day), "slot": slot}
    )
    assert answer.status_code == 200, answer.json()
    return answer.json()["results"]


def test_a_stay_across_both_clinics_with_a_miss_at_the_host(cast):
    host = host_staff(cast)
    person = on_prescription(cast)
    with time_machine.travel(EVE, tick=False):
        # Logged in afresh at each time of day: a session idle for hours has ended.
        host_nurse = client_of(cast.nurse_b)
        made = post(client_of(cast.prescriber), "guest-stays/", stay_body(person, cast.clinic_b))
        assert made.status_code == 201, made.json()
        assert made.json()["state"] == "awaiting"
        stay = made.json()["id"]
        # The host sees the stay it is asked to accept.
        listed = host_nurse.get("/api/v1/guest-stays/").json()["results"]
        assert [s["id"] for s in listed] == [stay]
        accepted = post(client_of(host["manager"]), f"guest-stays/{stay}/accept/", {})
        assert accepted.status_code == 200, accepted.json()
        assert accepted.json()["state"] == "accepted"
    with time_machine.travel(at(DAY, 9), tick=False):
        home_nurse, host_nurse = client_of(cast.nurse), client_of(cast.nurse_b)
        # Home: the session is guest, dosed elsewhere. Host: the session to dose.
        (home_am,) = sessions_of(home_nurse, person, DAY, "AM")
        assert home_am["status"] == "guest"
        (host_am,) = sessions_of(host_nurse, person, DAY, "AM")
        assert host_am["status"] == "scheduled"
        assert host_am["prescription"]["dose_mg"] == "60.00"
        path = f"dose-sessions/{host_am['id']}"
        assert (
            post(
                host_nurse, f"{path}/assess/", {"identity_confirmed": True, "poss": "1"}
            ).status_code
            == 200
        )
        given = post(
            host_nurse,
            f"{path}/administer/",
            {
                "drawn_mg": "60",
                "injected_mg": "60",
                "route": "iv",
                "site": "arm",
                "witness_username": host["hca"].username,
                "witness_password": PASSWORD,
            },
        )
        assert given.status_code == 200, given.json()
        # The home nurse cannot reach the host's session.
        assert home_nurse.get(f"/api/v1/{path}/").status_code == 404
    # The PM dose at the host is missed; nobody ran the scan: the next read settles it.
    with time_machine.travel(at(DAY, 18), tick=False):
        home_nurse, host_nurse = client_of(cast.nurse), client_of(cast.nurse_b)
        (host_pm,) = sessions_of(host_nurse, person, DAY, "PM")
        assert host_pm["status"] == "missed"
        (home_pm,) = sessions_of(home_nurse, person, DAY, "PM")
        assert home_pm["status"] == "guest"
        alerts = host_nurse.get("/api/v1/alerts/", {"open": "true"}).json()["results"]
        assert [a["kind"] for a in alerts if a["service_user"] == person.pk] == [
            AlertKind.MISSED_DOSE
        ]
        # The home clinic sees the count, as the host does.
        record = home_nurse.get(f"/api/v1/service-users/{person.pk}/").json()
        assert record["consecutive_not_taken"] == 1
        assert host_pm["consecutive_not_taken"] == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"first_day": "2026-01-01"}, "first_day"),
        ({"last_day": "2026-02-01"}, "last_day"),
        ({"first_day": "not a day"}, "first_day"),
        ({"host_clinic": 99999}, "host_clinic"),
        ({"reason": ""}, "reason"),
        ({"nights": 3}, "nights"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(cast, change, field):
    person = on_prescription(cast)
    with time_machine.travel(EVE, tick=False):
        answer = post(
            client_of(cast.prescriber), "guest-stays/", stay_body(person, cast.clinic_b, **change)
        )
    assert answer.status_code == 400
    body = answer.json()
    assert field in body or body.get("field") == field, body
    assert not GuestStay.objects.exists()


def test_who_may_authorise_accept_and_end(cast):
    host = host_staff(cast)
    person = on_prescription(cast)
    outsider = make_staff(make_clinic("Clinic C"), Role.MANAGER, username="manager_c")
    with time_machine.travel(EVE, tick=False):
        body = stay_body(person, cast.clinic_b)
        for who in (cast.nurse, cast.manager, host["hca"]):
            assert post(client_of(who), "guest-stays/", body).status_code == 403
        # Clinic B's staff cannot name clinic A's service user.
        prescriber_b = make_staff(cast.clinic_b, Role.PRESCRIBER, username="prescriber_b")
        assert post(client_of(prescriber_b), "guest-stays/", body).status_code == 404
        assert StaffClient().post("/api/v1/guest-stays/", body).status_code in (401, 403)
        stay = post(client_of(cast.prescriber), "guest-stays/", body).json()["id"]
        accept = f"guest-stays/{stay}/accept/"
        # The home clinic's manager is not the host's; the host's nurse is no manager;
        # another clinic's manager does not know the stay exists.
        assert post(client_of(cast.manager), accept, {}).status_code == 403
        assert post(client_of(cast.nurse_b), accept, {}).status_code == 403
        assert post(client_of(outsider), accept, {}).status_code == 404
        assert client_of(outsider).get(f"/api/v1/guest-stays/{stay}/").status_code == 404
        end = f"guest-stays/{stay}/end/"
        assert post(client_of(cast.nurse), end, {"reason": "x"}).status_code == 403
        assert post(client_of(cast.nurse_b), end, {"reason": "x"}).status_code == 403
        assert post(client_of(host["manager"]), accept, {}).status_code == 200
        assert post(client_of(host["manager"]), accept, {}).status_code == 409
        ended = post(client_of(cast.prescriber), end, {"reason": "Trip cancelled"})
        assert ended.status_code == 200
        assert ended.json()["state"] == "ended"
        assert ended.json()["end_reason"] == "Trip cancelled"
        assert post(client_of(host["manager"]), end, {"reason": "Again"}).status_code == 409
