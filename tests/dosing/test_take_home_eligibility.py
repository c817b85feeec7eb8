"""Take-home eligibility (issue 19.1): the clinic's criteria, each required, advisory
or off in its policy, answered for one service user with the evidence for each, on
the history of tests/dosing/take_home_setup.py."""

import datetime as dt

import pytest
import time_machine

from dosing.missed import missed_sessions_scan
from dosing.room import session_observe
from dosing.take_home_criteria import take_home_eligibility
from eligibility.models import Status
from eligibility.services import policy_issue, service_user_transition
from tests.dosing.take_home_setup import (
    AT,
    CLEAN,
    START,
    STREET,
    attending,
    in_maintenance,
    recent_sessions,
    screens,
)
from tests.factories import make_service_user

pytestmark = pytest.mark.django_db


def criteria(person, **kwargs):
    answer = take_home_eligibility(service_user=person, at=AT, **kwargs)
    return answer, {c.code: (c.met, c.evidence) for c in answer.criteria}


def set_policy(cast, **values):
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        reason="Take-home criteria",
        effective_from=START - dt.timedelta(days=1),
        now=START - dt.timedelta(days=2),
        **values,
    )


def test_a_stable_service_user_meets_every_criterion_with_its_evidence(
    cast, django_assert_max_num_queries
):
    person = in_maintenance(cast)
    attending(cast, person, skip={10, 30, 50})  # 53 of 56
    screens(cast, person, CLEAN, CLEAN, CLEAN)
    with django_assert_max_num_queries(9):
        answer, found = criteria(person)
    assert answer.eligible and not answer.blocking and not answer.needing_reason
    assert found == {
        "maintenance": (True, "In maintenance since 27 Aug 2026: 13 weeks (12 needed)."),
        "adherence": (
            True,
            "53 of 56 sessions taken in the last 4 weeks (94%; 90% needed).",
        ),
        "clean_tox": (
            True,
            "No street-heroin marker in the last 3 screens: 24 Nov 2026, 17 Nov 2026, 10 Nov 2026.",
        ),
        "no_adverse_event": (True, "No adverse event or sedation withhold in the last 4 weeks."),
        "no_retitration": (True, "No re-titration in the last 4 weeks."),
        "weekly_maximum": (True, "Up to 7 take-home doses a week may be prescribed."),
    }


def test_each_unmet_criterion_is_named_with_its_evidence(cast):
    person = in_maintenance(cast, since=AT - dt.timedelta(weeks=5))
    # 50 of 56 taken: 89%. Never three in a row not taken, which is re-titration.
    sessions = attending(cast, person, skip={0, 2, 4, 6, 21}, sedated={20})
    screens(cast, person, STREET, CLEAN, CLEAN, CLEAN, STREET)
    # And an adverse event after a dose.
    session_observe(
        session=sessions[40],
        observer=cast.nurse,
        outcome="adverse_event",
        over_sedation=True,
        details="Drowsy, roused to voice",
        now=sessions[40].opens_at + dt.timedelta(hours=1, minutes=25),
    )
    answer, found = criteria(person, doses_per_week=8)
    assert not answer.eligible
    assert [c.code for c in answer.blocking] == [
        code for code, (met, _) in found.items() if not met
    ]
    assert found == {
        "maintenance": (False, "In maintenance since 22 Oct 2026: 5 weeks (12 needed)."),
        "adherence": (False, "50 of 56 sessions taken in the last 4 weeks (89%; 90% needed)."),
        "clean_tox": (
            False,
            "Street-heroin marker on 24 Nov 2026 (latest screens: 24 Nov 2026, 17 Nov 2026, "
            "10 Nov 2026).",
        ),
        "no_adverse_event": (
            False,
            "In the last 4 weeks: adverse event on 18 Nov 2026; withheld for sedation on "
            "8 Nov 2026.",
        ),
        "no_retitration": (True, "No re-titration in the last 4 weeks."),
        "weekly_maximum": (False, "8 take-home doses in a week; at most 7."),
    }


def test_a_re_titration_in_the_recent_weeks_is_named_and_restarts_maintenance(cast):
    person = in_maintenance(cast)
    for status, day in (
        (Status.RETITRATION_REQUIRED, 10),
        (Status.RETITRATION, 11),
        (Status.MAINTENANCE, 14),
    ):
        service_user_transition(
            service_user=person,
            to_status=status,
            changed_by=cast.prescriber,
            reason="Three sessions missed",
            now=dt.datetime(2026, 11, day, 10, tzinfo=dt.UTC),
        )
    _, found = criteria(person)
    assert found["no_retitration"] == (
        False,
        "Re-titration in the last 4 weeks: 10 Nov 2026, 11 Nov 2026.",
    )
    assert found["maintenance"] == (False, "In maintenance since 14 Nov 2026: 1 week (12 needed).")
    service_user_transition(
        service_user=person,
        to_status=Status.RETITRATION_REQUIRED,
        changed_by=cast.prescriber,
        reason="Three sessions missed",
        now=AT - dt.timedelta(hours=1),
    )
    person.refresh_from_db()
    _, found = criteria(person)
    assert found["no_retitration"] == (False, "The status is re-titration required.")
    assert found["maintenance"] == (
        False,
        "Not in maintenance: the status is re-titration required.",
    )


def test_too_few_tox_screens_fail_the_criterion_and_an_old_positive_does_not(cast):
    person = in_maintenance(cast)
    screens(cast, person, CLEAN, CLEAN)
    _, found = criteria(person)
    assert found["clean_tox"] == (
        False,
        "3 tox screens needed; recorded, only 2: 24 Nov 2026, 17 Nov 2026.",
    )
    screens(cast, person, STREET, last=AT.date() - dt.timedelta(weeks=3))
    _, found = criteria(person)
    assert found["clean_tox"] == (
        False,
        "Street-heroin marker on 5 Nov 2026 (latest screens: 24 Nov 2026, 17 Nov 2026, "
        "5 Nov 2026).",
    )
    screens(cast, person, CLEAN, last=AT.date() - dt.timedelta(days=1))
    _, found = criteria(person)
    assert found["clean_tox"][0], "the positive is now the fourth screen back"


def test_the_answer_is_the_same_whether_or_not_the_scan_has_run(cast):
    """A session whose window closed with no outcome counts as not taken, as the scan
    will mark it: a late scan does not make anyone eligible."""
    person = in_maintenance(cast)
    attending(cast, person, skip={5, 25, 45, 55})  # 52 of 56: 93%
    before = criteria(person)[1]["adherence"]
    with time_machine.travel(AT, tick=False):
        missed_sessions_scan(now=AT)
    assert [s.status for s in recent_sessions(person)].count("missed") == 4
    assert (
        criteria(person)[1]["adherence"]
        == before
        == (
            True,
            "52 of 56 sessions taken in the last 4 weeks (92%; 90% needed).",
        )
    )


def test_advisory_criteria_need_a_reason_and_switched_off_ones_are_not_asked(cast):
    set_policy(
        cast,
        take_home_levels={"maintenance": "advisory", "clean_tox": "off"},
        take_home_maintenance_weeks=26,
        take_home_recent_weeks=1,
        take_home_adherence_percent=80,
        take_home_max_per_week=3,
    )
    person = in_maintenance(cast)
    attending(cast, person, skip={50, 51})  # of the last week's 14, 12 taken
    answer, found = criteria(person, doses_per_week=3)
    assert "clean_tox" not in found
    assert found["maintenance"] == (
        False,
        "In maintenance since 27 Aug 2026: 13 weeks (26 needed).",
    )
    assert found["adherence"] == (
        True,
        "12 of 14 sessions taken in the last 1 week (85%; 80% needed).",
    )
    assert found["weekly_maximum"] == (True, "3 take-home doses in a week; at most 3.")
    assert answer.eligible
    assert [c.code for c in answer.needing_reason] == ["maintenance"]


def test_no_sessions_due_is_not_attendance(cast):
    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=START)
    _, found = criteria(person)
    assert found["adherence"] == (False, "No sessions due in the last 4 weeks.")
