"""The guest-stay tests' cast beyond clinic A's: clinic B, the host, with its manager,
its health-care assistant and its register's stock; and the days around DAY."""

import datetime as dt

from core.roles import Role
from dosing.register import register_receive, register_section_add
from tests.dosing.room_setup import DAY, LONDON, SET_UP
from tests.factories import make_staff

NEXT = DAY + dt.timedelta(days=1)
# The day before DAY, at 10:00: when the stay is authorised.
EVE = dt.datetime.combine(DAY - dt.timedelta(days=1), dt.time(10), tzinfo=LONDON)


def at(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LONDON)


def host_staff(cast) -> dict:
    """Clinic B's manager and health-care assistant, and its register's stock."""
    staff = {
        "manager": make_staff(cast.clinic_b, Role.MANAGER, username="manager_b"),
        "hca": make_staff(cast.clinic_b, Role.HCA, username="hca_b"),
    }
    section = register_section_add(clinic=cast.clinic_b, strength_mg="100", supplies_doses=True)
    register_receive(
        section=section,
        ampoules=10,
        supplier_name="Pharma Ltd",
        supplier_address="1 Road",
        batch="B2",
        expiry=dt.date(2027, 1, 1),
        received_by=cast.nurse_b,
        now=SET_UP,
    )
    staff["section"] = section
    return staff
