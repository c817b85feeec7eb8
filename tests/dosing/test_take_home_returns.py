"""Unused take-home doses brought back (issue 19.4): recorded and destroyed in front of
an authorised witness, noted in the register but never back in its stock; a returned
dose whose time has passed is not taken, one still to come is the room's again."""

import pytest
import time_machine
from django.urls import reverse

from dosing.models import DoseSession, RegisterEntry, TakeHomeReturn
from dosing.take_home_returns import take_home_return
from tests.dosing.room_setup import register_stock
from tests.dosing.take_home_setup import MON, SAT, SUN, on_take_home, supply
from tests.factories import PASSWORD
from tests.helpers import refused
from tests.monitoring.scan_setup import london

pytestmark = pytest.mark.django_db


@pytest.fixture
def supplied(cast):
    person = on_take_home(cast)
    section = register_stock(cast, ampoules=10)
    return supply(cast, person, SUN), section


def bring_back(cast, given, doses, *, units=None, witness=None, password=PASSWORD, now=None):
    return take_home_return(
        supply=given,
        dose_ids=[d.pk for d in doses],
        units=len(doses) if units is None else units,
        received_by=cast.nurse,
        witness_username=(witness or cast.prescriber).username,
        witness_password=password,
        now=now or london(MON, 10),
    )


def test_doses_brought_back_are_destroyed_witnessed_and_not_taken(cast, supplied):
    given, section = supplied
    saturday, sunday = given.doses.order_by("clinic_day")
    returned = bring_back(cast, given, [saturday, sunday])
    section.refresh_from_db()
    assert section.balance_ampoules == 8
    assert (returned.units, returned.witness) == (2, cast.prescriber)
    line = RegisterEntry.objects.get(take_home_return=returned)
    assert (line.kind, line.ampoules, line.ampoules_in, line.ampoules_out) == ("returned", 2, 0, 0)
    assert line.balance_ampoules == 8, "what left as a supply does not come back into stock"
    assert "Brought back unused by Jamie Test: 28 Nov PM, 29 Nov PM" in line.note
    statuses = dict(
        DoseSession.objects.filter(pk__in=[saturday.session_id, sunday.session_id]).values_list(
            "clinic_day", "status"
        )
    )
    assert statuses == {SAT: "missed", SUN: "missed"}
    person = given.service_user
    person.refresh_from_db()
    assert person.consecutive_not_taken == 2


def test_a_dose_still_to_come_goes_back_to_the_room(cast, supplied):
    given, _ = supplied
    sunday = given.doses.get(clinic_day=SUN)
    bring_back(cast, given, [sunday], now=london(SAT, 9))
    session = DoseSession.objects.get(pk=sunday.session_id)
    assert (session.status, session.outcome_reason) == ("scheduled", "")
    assert DoseSession.history.filter(
        id=session.pk, history_change_reason="Take-home dose brought back unused"
    ).exists()
    # Supplied again later that day: the same session, one dose standing for it.
    again = supply(cast, given.service_user, SUN, now=london(SAT, 10))
    assert [d.session_id for d in again.doses.all()] == [session.pk]
    session.refresh_from_db()
    assert session.status == "take_home"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"doses": []}, "return_doses_required", "dose_ids"),
        ({"units": 3}, "return_units_too_many", "units"),
        ({"units": 0}, "quantity_invalid", "units"),
        ({"witness": "hca"}, "witness_not_allowed", "witness_username"),
        ({"password": "wrong"}, "witness_not_confirmed", "witness_password"),
    ],
)
def test_a_refused_return_writes_nothing(cast, supplied, change, code, field):
    given, _ = supplied
    doses = change.pop("doses", list(given.doses.all()))
    if "witness" in change:
        change["witness"] = getattr(cast, change["witness"])
    refusal = refused(code, bring_back, cast=cast, given=given, doses=doses, **change)
    assert refusal.field == field
    assert not TakeHomeReturn.objects.exists()
    assert not RegisterEntry.objects.filter(kind="returned").exists()


def test_a_dose_is_brought_back_once(cast, supplied):
    given, _ = supplied
    sunday = given.doses.get(clinic_day=SUN)
    bring_back(cast, given, [sunday])
    refused("dose_returned_already", bring_back, cast=cast, given=given, doses=[sunday])


def test_a_nurse_records_a_return_on_the_page_and_the_api(cast, supplied):
    given, _ = supplied
    url = reverse("take-home-return-new", args=[given.pk])
    saturday, sunday = given.doses.order_by("clinic_day")
    form = {
        "dose_ids": [str(saturday.pk)],
        "units": "1",
        "witness_username": cast.prescriber.username,
        "witness_password": "wrong",
        "note": "Found in his coat",
    }
    with time_machine.travel(london(MON, 10), tick=False):
        for who, status in (("hca", 403), ("prescriber", 403), ("manager", 403), ("nurse_b", 404)):
            assert cast.client(who).get(url).status_code == status, who
        client = cast.client("nurse")
        refusal = client.post(url, form)
        assert refusal.status_code == 400
        kept = refusal.context["form"]
        assert kept["dose_ids"].value() == [str(saturday.pk)]
        assert kept["note"].value() == "Found in his coat"
        done = client.post(url, {**form, "witness_password": PASSWORD}, follow=True)
        assert "1 dose brought back: 1 ampoule (100 mg), destroyed and witnessed." in (
            done.content.decode()
        )
        assert "Sat 28 Nov PM (brought back)" in done.content.decode()
        api = "/api/v1/take-home/returns/"
        body = {
            "supply": given.pk,
            "doses": [sunday.pk],
            "units": 1,
            "witness_username": cast.prescriber.username,
            "witness_password": PASSWORD,
        }
        assert (
            cast.client("hca").post(api, body, content_type="application/json").status_code == 403
        )
        made = client.post(api, body, content_type="application/json")
        assert made.status_code == 201, made.json()
        assert made.json()["doses"] == [sunday.pk]
        listed = cast.client("manager").get(api, {"supply": given.pk}).json()["results"]
        assert len(listed) == 2
