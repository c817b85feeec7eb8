"""The guest-stay pages (issue 19.5) against the role cast, and their refusals keeping
what was typed."""

import pytest
import time_machine

from dosing.guest import guest_stay_accept, guest_stay_authorise
from dosing.models import DoseSession, GuestStay
from tests.dosing.guest_setup import EVE, NEXT, host_staff
from tests.dosing.room_setup import DAY, on_prescription
from tests.factories import StaffClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_eve():
    with time_machine.travel(EVE, tick=False):
        yield


def as_(user):
    client = StaffClient()
    client.force_login(user)
    return client


def form(host, **changes):
    return {
        "host_clinic": host.pk,
        "first_day": str(DAY),
        "last_day": str(NEXT),
        "reason": "Visiting family",
        **changes,
    }


def stay_of(cast, person):
    return guest_stay_authorise(
        service_user=person,
        prescriber=cast.prescriber,
        host_clinic=cast.clinic_b,
        first_day=DAY,
        last_day=NEXT,
        reason="Visiting family",
        now=EVE,
    )


@pytest.mark.parametrize(
    ("who", "reads", "posts"),
    [
        ("nurse", 200, 403),
        ("hca", 200, 403),
        ("prescriber", 200, 302),
        ("manager", 200, 403),
        ("nurse_b", 404, 404),
        (None, 302, 302),
    ],
)
def test_a_service_users_stays_page_by_role(cast, who, reads, posts):
    person = on_prescription(cast)
    path = f"/service-users/{person.pk}/guest-stays/"
    client = cast.client(who)
    assert client.get(path).status_code == reads
    answer = client.post(path, form(cast.clinic_b))
    assert answer.status_code == posts
    assert GuestStay.objects.exists() == (posts == 302 and who is not None)


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"first_day": "2026-01-01"}, "first_day", "first day has passed"),
        ({"last_day": "2026-02-01"}, "last_day", "before the first day"),
        ({"last_day": "2026-03-31"}, "last_day", "at most 28 days"),
        ({"host_clinic": ""}, "host_clinic", "required"),
        ({"reason": ""}, "reason", "required"),
    ],
)
def test_a_refused_stay_keeps_what_was_typed(cast, change, field, says):
    person = on_prescription(cast)
    answer = as_(cast.prescriber).post(
        f"/service-users/{person.pk}/guest-stays/", form(cast.clinic_b, **change)
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert says in page
    assert answer.context["form"].errors.get(field), answer.context["form"].errors
    # What was typed in the other fields is still there.
    typed = form(cast.clinic_b, **change)
    for name in ("first_day", "last_day"):
        if name != field:
            assert f'value="{typed[name]}"' in page
    assert not GuestStay.objects.exists()


def test_the_host_manager_accepts_from_the_clinics_page(cast):
    host = host_staff(cast)
    person = on_prescription(cast)
    stay = stay_of(cast, person)
    manager_b = as_(host["manager"])
    listing = manager_b.get("/guest-stays/")
    assert listing.status_code == 200
    assert f"/guest-stays/{stay.pk}/accept/" in listing.content.decode()
    # The home clinic's manager and the host's nurse may not accept; a stay of neither
    # clinic they work in does not exist for them.
    assert cast.client("manager").get(f"/guest-stays/{stay.pk}/accept/").status_code == 403
    assert cast.client("nurse_b").post(f"/guest-stays/{stay.pk}/accept/").status_code == 403
    assert cast.client(None).get(f"/guest-stays/{stay.pk}/accept/").status_code == 302
    accepted = manager_b.post(f"/guest-stays/{stay.pk}/accept/", {"note": "Ask for Sam"})
    assert accepted.status_code == 302
    assert DoseSession.objects.filter(clinic=cast.clinic_b, service_user=person).count() == 2
    # Accepting twice: the page says it is already accepted, and nothing changes.
    again = manager_b.post(f"/guest-stays/{stay.pk}/accept/", {"note": "Again"})
    assert again.status_code == 400
    assert "already accepted" in again.content.decode()


def test_ending_needs_a_reason_and_the_right_side(cast):
    host = host_staff(cast)
    person = on_prescription(cast)
    stay = stay_of(cast, person)
    guest_stay_accept(stay=stay, manager=host["manager"], now=EVE)
    path = f"/guest-stays/{stay.pk}/end/"
    for who in ("nurse", "manager", "nurse_b"):
        assert cast.client(who).post(path, {"reason": "x"}).status_code == 403
    blank = as_(cast.prescriber).post(path, {"reason": ""})
    assert blank.status_code == 400
    assert blank.context["form"].errors["reason"]
    ended = as_(cast.prescriber).post(path, {"reason": "Trip off"})
    assert ended.status_code == 302
    assert ended["Location"] == f"/service-users/{person.pk}/guest-stays/"
    assert not DoseSession.objects.filter(clinic=cast.clinic_b).exists()
