"""The witness check is no oracle and no weapon (issue 16.4).

It first asks whether the username is on this clinic's staff. An unknown username,
another clinic's member of staff and a wrong password get one nameless answer, on the
same field, after the same work. Failures count per witness and clinic, and only for
the clinic's own staff, so five wrong passwords sent from clinic B cannot stop clinic
A's health-care assistant witnessing at A.
"""

import datetime as dt
import statistics
import time

import pytest
from django.conf import settings

from core.roles import Role
from dosing.models import WitnessFailure
from dosing.witness import NOT_CONFIRMED, witness_confirm
from eligibility.services import staff_member_add
from tests.factories import PASSWORD, make_staff
from tests.helpers import refused

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def confirm(cast, username, password=PASSWORD, *, clinic=None, nurse=None, now=NOW):
    return witness_confirm(
        witness_username=username,
        witness_password=password,
        nurse=nurse or cast.nurse,
        clinic=clinic or cast.clinic_a,
        now=now,
    )


def test_unknown_another_clinics_and_a_wrong_password_get_one_nameless_answer(cast):
    cast.nurse_b.first_name, cast.nurse_b.last_name = "Priya", "Shah"
    cast.nurse_b.save()
    answers = {
        "unknown": refused("witness_not_confirmed", confirm, cast=cast, username="nobody_here"),
        "another clinic's, right password": refused(
            "witness_not_confirmed", confirm, cast=cast, username=cast.nurse_b.username
        ),
        "this clinic's, wrong password": refused(
            "witness_not_confirmed", confirm, cast=cast, username=cast.hca.username, password="x"
        ),
        "too long to be anyone": refused(
            "witness_not_confirmed", confirm, cast=cast, username="u" * 200
        ),
    }
    assert {(a.message, a.field) for a in answers.values()} == {(NOT_CONFIRMED, "witness_password")}
    assert "Priya" not in NOT_CONFIRMED and "Shah" not in NOT_CONFIRMED
    assert confirm(cast, cast.hca.username) == cast.hca


def test_an_inactive_member_of_staff_is_not_a_witness(cast):
    cast.hca.is_active = False
    cast.hca.save()
    assert refused("witness_not_confirmed", confirm, cast=cast, username=cast.hca.username)


def test_a_member_who_may_not_witness_is_refused_without_being_named(cast):
    cast.manager.first_name = "Morag"
    cast.manager.save()
    error = refused("witness_not_allowed", confirm, cast=cast, username=cast.manager.username)
    assert "Morag" not in error.message and "That member of staff cannot witness" in error.message


def test_wrong_passwords_sent_from_another_clinic_never_lock_out_this_clinics_witness(cast):
    for minute in range(settings.AXES_FAILURE_LIMIT + 3):
        refused(
            "witness_not_confirmed",
            confirm,
            cast=cast,
            username=cast.hca.username,
            password="guess",
            clinic=cast.clinic_b,
            nurse=cast.nurse_b,
            now=NOW + dt.timedelta(minutes=minute),
        )
    assert not WitnessFailure.objects.exists(), "a non-member's attempts are not counted"
    assert confirm(cast, cast.hca.username, now=NOW + dt.timedelta(minutes=9)) == cast.hca


def test_failures_count_per_witness_and_clinic(cast):
    """A nurse of both clinics, locked out of witnessing at A, still witnesses at B."""
    both = make_staff(cast.clinic_a, Role.NURSE, username="nurse_ab")
    staff_member_add(clinic=cast.clinic_b, user=both, roles=[Role.NURSE])
    for minute in range(settings.AXES_FAILURE_LIMIT):
        refused(
            "witness_not_confirmed",
            confirm,
            cast=cast,
            username="nurse_ab",
            password="guess",
            now=NOW + dt.timedelta(minutes=minute),
        )
    later = NOW + dt.timedelta(minutes=6)
    error = refused("witness_locked", confirm, cast=cast, username="nurse_ab", now=later)
    assert "locked for 30 minutes" in error.message
    assert confirm(cast, "nurse_ab", clinic=cast.clinic_b, nurse=cast.nurse_b, now=later) == both
    assert WitnessFailure.objects.filter(clinic=cast.clinic_a).count() == 5


def _seconds(call) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        with pytest.raises(Exception):  # noqa: B017  every call here is a refusal
            call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_an_unknown_username_takes_as_long_as_a_wrong_password(cast, settings):
    """Each refusal hashes one password, so timing cannot tell real usernames from
    unknown ones (the probe saw 0.32 s against 0.07 s). With production's hasher and
    its cost, not the suite's quick one (tests/hashers.py)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    for person in (cast.nurse_b, cast.prescriber):
        person.set_password(PASSWORD)
        person.save(update_fields=["password"])
    times = {
        "unknown": _seconds(lambda: confirm(cast, "nobody_here")),
        "another clinic's": _seconds(lambda: confirm(cast, cast.nurse_b.username)),
        "wrong password": _seconds(
            lambda: confirm(cast, cast.prescriber.username, "guess", now=dt.datetime.now(dt.UTC))
        ),
    }
    fastest, slowest = min(times.values()), max(times.values())
    assert slowest < 2 * fastest, times
