"""A three-dose day end to end through the API (issue 19.6): the manager adds an
evening slot, the prescriber prescribes three doses, the nurses give the morning and
afternoon ones and the evening one is left; nobody runs the scan until the next
midday, and the first read settles all three slots as an on-time scan would have. The
attendance dashboard counts each slot."""

import datetime as dt

import pytest
import time_machine

from dosing.sessions import dose_sessions_generate
from eligibility.models import Status
from tests.dosing.room_setup import DAY, SET_UP
from tests.factories import PASSWORD, TRANSFER, StaffClient, make_service_user
from tests.monitoring.scan_setup import london

pytestmark = pytest.mark.django_db

NEXT = DAY + dt.timedelta(days=1)
THREE = [
    {"code": "AM", "opens_at": "08:00", "closes_at": "11:30"},
    {"code": "PM", "opens_at": "13:00", "closes_at": "17:30"},
    {"code": "EVE", "opens_at": "19:00", "closes_at": "21:00"},
]


def as_(cast, who):
    client = StaffClient()
    client.force_login(getattr(cast, who))
    return client


def post(client, path, body):
    answer = client.post(f"/api/v1/{path}", body, content_type="application/json")
    assert answer.status_code in (200, 201), answer.json()
    return answer.json()


def sessions(client, person, day):
    found = client.get("/api/v1/dose-sessions/", {"service_user": person.pk, "date": str(day)})
    return {s["slot_code"]: s for s in found.json()["results"]}


def give(cast, client, session):
    path = f"dose-sessions/{session['id']}"
    post(client, f"{path}/assess/", {"identity_confirmed": True, "poss": "1"})
    post(
        client,
        f"{path}/administer/",
        {
            "drawn_mg": "60",
            "injected_mg": "60",
            "route": "iv",
            "site": "arm",
            "witness_username": cast.hca.username,
            "witness_password": PASSWORD,
        },
    )


def test_a_three_dose_day_through_the_api_with_the_scan_late(cast):
    from dosing.register import register_receive, register_section_add

    register_receive(
        section=register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True),
        ampoules=10,
        supplier_name="Pharma Ltd",
        supplier_address="1 Road",
        batch="B1",
        expiry=dt.date(2027, 1, 1),
        received_by=cast.nurse,
        now=SET_UP,
    )
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=SET_UP)
    eve = london(DAY - dt.timedelta(days=1), 10)
    with time_machine.travel(eve, tick=False):
        policy = post(
            as_(cast, "manager"),
            "policies/",
            {
                "clinic": cast.clinic_a.pk,
                "effective_from": london(DAY - dt.timedelta(days=1), 12).isoformat(),
                "reason": "An evening dose for people in work",
                "slots": THREE,
            },
        )
        assert [slot["code"] for slot in policy["slots"]] == ["AM", "PM", "EVE"]
    # Once the evening slot is in force, the prescriber prescribes for it.
    with time_machine.travel(eve + dt.timedelta(hours=3), tick=False):
        prescribed = post(
            as_(cast, "prescriber"),
            "prescriptions/",
            {
                "service_user": person.pk,
                "slot_doses": {"AM": "60", "PM": "60", "EVE": "60"},
                "reason": "Three doses a day",
                **{k: str(v) for k, v in TRANSFER.items() if k != "documented_transfer"},
                "documented_transfer": True,
            },
        )
        assert prescribed["max_daily_total_mg"] == "180.00"
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY, NEXT], now=eve)  # the beat's job

    with time_machine.travel(london(DAY, 9), tick=False):
        nurse = as_(cast, "nurse")
        today = sessions(nurse, person, DAY)
        assert sorted(today) == ["AM", "EVE", "PM"]
        give(cast, nurse, today["AM"])
    with time_machine.travel(london(DAY, 14), tick=False):
        nurse = as_(cast, "nurse")
        give(cast, nurse, sessions(nurse, person, DAY)["PM"])
    # The evening window closes at 21:00; the next morning's at 11:30. The scan never
    # ran: the read at noon settles both, in order.
    with time_machine.travel(london(NEXT, 12), tick=False):
        nurse = as_(cast, "nurse")
        day = sessions(nurse, person, DAY)
        assert {code: s["status"] for code, s in day.items()} == {
            "AM": "administered",
            "PM": "administered",
            "EVE": "missed",
        }
        after = sessions(nurse, person, NEXT)
        assert after["AM"]["status"] == "missed"
        assert after["AM"]["consecutive_not_taken"] == 2
        alerts = nurse.get("/api/v1/alerts/", {"open": "true"}).json()["results"]
        assert sorted(a["kind"] for a in alerts if a["service_user"] == person.pk) == [
            "consecutive_missed",
            "missed_dose",
            "missed_dose",
        ]
        numbers = as_(cast, "manager").get(
            "/api/v1/dashboard/attendance/", {"from": str(DAY), "to": str(DAY)}
        )
    by_slot = {
        row["slot_code"]: (row["scheduled"], row["administered"], row["missed"])
        for row in numbers.json()["by_slot"]
    }
    assert by_slot == {"AM": (1, 1, 0), "PM": (1, 1, 0), "EVE": (1, 0, 1)}
