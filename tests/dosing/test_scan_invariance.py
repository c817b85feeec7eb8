"""The same answer whatever time the missed-dose scan runs (issue 15.3; docs/domain.md,
"Missed doses and re-titration").

Hypothesis writes a few clinic days for several service users, across the UK clock
change of 29 March 2026: for each session a dose, a withhold, a decline, a no-show, a
deferral that is never reassessed, or a suspension (with a return some sessions
later), at a time inside the window or after it has closed, and for some people a
prescription at a random moment. The same history is replayed twice from the same
start: once with the scan every 5 minutes, once with the scan at random moments,
which includes no scan at all until the end and outages of many hours. Both replays
end with one last scan. They must end in the same state (every session's outcome,
every person's status and count, every alert by kind and cause) and every action
must have had the same answer in both. The clinic's lapse is 1 day, so re-titration
comes by time as well as by the count.

Each replay runs in a savepoint that is rolled back, so both start from the same rows.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.models import Alert
from core.errors import Conflict, RuleViolation
from dosing.assessment import session_assess
from dosing.leaving import suspension_end, suspension_start
from dosing.missed import missed_sessions_scan
from dosing.models import OPEN_SESSION_STATUSES, DoseSession, Suspension
from dosing.prescribing import prescription_issue
from dosing.room import session_decline, session_withhold
from dosing.sessions import dose_sessions_generate
from eligibility.models import ServiceUser, Status
from eligibility.services import policy_issue
from tests.dosing.room_setup import inject
from tests.factories import TRANSFER, make_service_user

LONDON = ZoneInfo("Europe/London")
# Saturday to Monday: the clocks go forward at 01:00 on Sunday 29 March 2026.
DAYS = [dt.date(2026, 3, 28), dt.date(2026, 3, 29), dt.date(2026, 3, 30)]
SET_UP = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 3, 28, 6, 0, tzinfo=LONDON)
END = dt.datetime(2026, 3, 31, 6, 0, tzinfo=LONDON)
MINUTES = int((END - START).total_seconds() // 60)
PEOPLE = 3
SESSIONS = len(DAYS) * 2  # AM 08:00-11:30 and PM 13:00-17:30, London time

# From the window's opening: the longest window is 270 minutes, so about a third of
# the actions come after it has closed.
plan_of_session = st.tuples(
    st.sampled_from(["dose", "withhold", "decline", "no-show", "defer", "suspend"]),
    st.integers(min_value=0, max_value=400),
)
plan_of_person = st.fixed_dictionaries(
    {
        "sessions": st.lists(plan_of_session, min_size=SESSIONS, max_size=SESSIONS),
        "back_after": st.integers(min_value=1, max_value=4),
        "prescribed_at": st.none() | st.integers(min_value=0, max_value=MINUTES - 1),
    }
)
random_scans = st.lists(st.integers(min_value=0, max_value=MINUTES - 1), max_size=6)


def at_minute(minute: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minute)


def events_of(cast, plans, people):
    """(when, order, what, call) for each action the plans describe."""
    events = []
    for p, (plan, person) in enumerate(zip(plans, people, strict=True)):
        sessions = list(DoseSession.objects.filter(service_user=person).order_by("opens_at"))
        suspended = False
        for s, ((outcome, offset), session) in enumerate(
            zip(plan["sessions"], sessions, strict=True)
        ):
            when = session.opens_at + dt.timedelta(minutes=offset)
            order = (p, s)
            if outcome == "dose":
                events.append((when, order, "assess", _assess(cast, session)))
                events.append(
                    (when + dt.timedelta(minutes=2), order, "administer", _inject(cast, session))
                )
            elif outcome == "defer":
                events.append((when, order, "defer", _defer(cast, session)))
            elif outcome == "withhold":
                events.append((when, order, "withhold", _withhold(cast, session)))
            elif outcome == "decline":
                events.append((when, order, "decline", _decline(cast, session)))
            elif outcome == "suspend" and not suspended:
                suspended = True
                events.append((when, order, "suspend", _suspend(cast, person, session)))
                back = s + plan["back_after"]
                if back < len(sessions):
                    events.append(
                        (
                            sessions[back].opens_at + dt.timedelta(minutes=30),
                            (p, back),
                            "return",
                            _return(cast, person, sessions[back].clinic_day),
                        )
                    )
        if plan["prescribed_at"] is not None:
            events.append(
                (at_minute(plan["prescribed_at"]), (p, -1), "prescribe", _prescribe(cast, person))
            )
    return sorted(events, key=lambda event: (event[0], event[1]))


def _assess(cast, session):
    return lambda now: session_assess(
        session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=now
    )


def _defer(cast, session):
    """POSS 3, deferred for a reassessment that never comes: withheld when the window
    closes."""
    return lambda now: session_assess(
        session=session, nurse=cast.nurse, identity_confirmed=True, poss="3", defer=True, now=now
    )


def _inject(cast, session):
    return lambda now: inject(cast, session, now)


def _withhold(cast, session):
    return lambda now: session_withhold(
        session=session, nurse=cast.nurse, reason="clinical", now=now
    )


def _decline(cast, session):
    return lambda now: session_decline(session=session, nurse=cast.nurse, now=now)


def _suspend(cast, person, session):
    return lambda now: suspension_start(
        service_user=person,
        kind="hospital",
        starts_on=session.clinic_day,
        reason="Admitted",
        recorded_by=cast.nurse,
        now=now,
    )


def _return(cast, person, day):
    def call(now):
        suspension = Suspension.objects.filter(service_user=person, ended_at=None).first()
        if suspension is None:
            raise Conflict("Not suspended.", code="not_suspended")
        return suspension_end(suspension=suspension, returned_on=day, ended_by=cast.nurse, now=now)

    return call


def _prescribe(cast, person):
    return lambda now: prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "30", "PM": "30"},
        reason="Restart at half",
        now=now,
    )


def replay(events, scans, people):
    """Run the events and the scans in time order (a scan first at the same moment),
    then one last scan; return each action's answer and the state it ends in."""
    timeline = [(when, 0, (), "scan", None) for when in scans]
    timeline += [(when, 1, order, what, call) for when, order, what, call in events]
    answers = []
    for when, _, _, what, call in sorted(timeline, key=lambda item: item[:3]):
        with time_machine.travel(when, tick=False):
            if what == "scan":
                missed_sessions_scan(now=when)
                continue
            try:
                call(when)
            except (RuleViolation, Conflict) as refusal:
                answers.append((what, when, refusal.code))
            else:
                answers.append((what, when, "done"))
    with time_machine.travel(END, tick=False):
        missed_sessions_scan(now=END)
    return answers, state(people)


def state(people):
    ids = [person.pk for person in people]
    suspensions = {
        s.pk: f"{s.service_user_id}:{s.starts_on}"
        for s in Suspension.objects.filter(service_user__in=ids)
    }

    def cause(key):
        kind, _, ref = key.partition(":")
        return f"{kind}:{suspensions[int(ref)]}" if kind == "suspension" else key

    return {
        "sessions": list(
            DoseSession.objects.filter(service_user__in=ids)
            .order_by("pk")
            .values_list("pk", "status", "outcome_reason")
        ),
        "people": list(
            ServiceUser.objects.filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "status", "consecutive_not_taken")
        ),
        "alerts": sorted(
            (kind, cause(key))
            for kind, key in Alert.objects.filter(service_user__in=ids).values_list(
                "kind", "cause_key"
            )
        ),
    }


def differences(on_time, late) -> str:
    """What only one replay has, for the failure message."""
    return (
        f"only with the scan every 5 minutes: {sorted(set(on_time) - set(late), key=str)}; "
        f"only with the late scans: {sorted(set(late) - set(on_time), key=str)}"
    )


def rolled_back(run):
    with transaction.atomic():
        result = run()
        transaction.set_rollback(True)
    return result


EVERY_5_MINUTES = [at_minute(m) for m in range(0, MINUTES, 5)]


@pytest.mark.django_db
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plans=st.lists(plan_of_person, min_size=PEOPLE, max_size=PEOPLE),
    scans=random_scans,
)
def test_the_outcome_is_the_same_whenever_the_scan_runs(cast, plans, scans):
    def example():
        # A lapse of 1 day, so that re-titration by time as well as by count is met.
        policy_issue(
            clinic=cast.clinic_a,
            issued_by=None,
            reason="Short lapse",
            effective_from=SET_UP,
            now=SET_UP - dt.timedelta(minutes=1),
            retitration_days=1,
        )
        people = []
        for _ in range(PEOPLE):
            person = make_service_user(
                cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=SET_UP
            )
            prescription_issue(
                service_user=person,
                prescriber=cast.prescriber,
                slot_doses={"AM": "60", "PM": "60"},
                **TRANSFER,
                reason="Transfer",
                now=SET_UP,
            )
            people.append(person)
        dose_sessions_generate(clinic=cast.clinic_a, days=DAYS, now=SET_UP)
        events = events_of(cast, plans, people)
        on_time = rolled_back(lambda: replay(events, EVERY_5_MINUTES, people))
        late = rolled_back(lambda: replay(events, [at_minute(m) for m in scans], people))
        assert late[0] == on_time[0], differences(on_time[0], late[0])
        for part in ("sessions", "people", "alerts"):
            assert late[1][part] == on_time[1][part], differences(on_time[1][part], late[1][part])
        return on_time

    _, end = rolled_back(example)
    # Every window closed before the end: no session is left without an outcome.
    assert not [status for _, status, _ in end["sessions"] if status in OPEN_SESSION_STATUSES]
