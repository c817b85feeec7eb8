"""Every action on a service user settles their closed windows first, with the
missed-dose scan's own code, so that its answer is the same whenever the scan last
ran (issue 15; docs/domain.md, "Missed doses and re-titration"). Each case was reproduced
through the API with the scan delayed; here the scan never runs until the end."""

import datetime as dt

import pytest
import time_machine

from alerts.models import Alert, AlertKind
from dosing.missed import missed_sessions_scan
from dosing.models import SessionStatus
from eligibility.models import Status
from tests.factories import PASSWORD
from tests.monitoring.scan_setup import london, people_on_prescription, schedule, session_of

pytestmark = pytest.mark.django_db

TUE = dt.date(2026, 2, 10)  # slots AM 08:00-11:30 and PM 13:00-17:30, London time
WED, THU = TUE + dt.timedelta(days=1), TUE + dt.timedelta(days=2)


@pytest.fixture
def person(cast):
    (person,) = people_on_prescription(cast, 1)
    schedule(cast, TUE, WED, THU)
    return person


def api(cast, who, when, path, body):
    with time_machine.travel(when, tick=False):
        return cast.client(who).post(f"/api/v1/{path}", body, content_type="application/json")


def act(cast, person, day, slot, action, hh=14, **body):
    """A nurse's action on the person's session through the API, at hh:00."""
    session = session_of(person, day, slot)
    defaults = {
        "assess": {"identity_confirmed": True, "poss": "1"},
        "administer": {
            "drawn_mg": "60",
            "injected_mg": "60",
            "route": "iv",
            "site": "arm",
            "witness_username": cast.hca.username,
            "witness_password": PASSWORD,
        },
        "withhold": {"reason": "clinical"},
        "decline": {},
    }[action]
    return api(
        cast,
        "nurse",
        london(day, hh),
        f"dose-sessions/{session.pk}/{action}/",
        {**defaults, **body},
    )


def dose(cast, person, day, slot, hh=9):
    for action in ("assess", "administer"):
        assert act(cast, person, day, slot, action, hh=hh).status_code == 200


def alerts(person, kind):
    return list(
        Alert.objects.filter(service_user=person, kind=kind).values_list("cause_key", flat=True)
    )


def status(person):
    person.refresh_from_db()
    return person.status, person.consecutive_not_taken


def test_a_dose_after_three_in_a_row_not_taken_is_refused_though_the_scan_never_ran(cast, person):
    dose(cast, person, TUE, "AM")
    assert act(cast, person, TUE, "PM", "decline").status_code == 200
    # Wednesday AM: nobody came, and the window closed unscanned.
    assert act(cast, person, WED, "PM", "withhold").status_code == 200
    # The withhold settled Wednesday AM first: three in a row.
    assert status(person) == (Status.RETITRATION_REQUIRED, 3)
    assert session_of(person, WED, "AM").status == SessionStatus.MISSED
    (cause,) = alerts(person, AlertKind.RETITRATION_REQUIRED)
    assert cause.startswith(f"tolerance:{person.pk}:2026-02-13 09:00:00")  # Tuesday's dose

    for action in ("assess", "administer"):
        refused = act(cast, person, THU, "AM", action, hh=9)
        assert refused.status_code == 400
        assert refused.json()["code"] == "retitration_required"
    missed_sessions_scan(now=london(THU, 23))
    assert status(person) == (Status.RETITRATION_REQUIRED, 5)
    assert alerts(person, AlertKind.RETITRATION_REQUIRED) == [cause]


def test_one_run_raises_one_warning_whichever_order_it_is_settled_in(cast, person):
    dose(cast, person, TUE, "AM")
    dose(cast, person, TUE, "PM", hh=14)
    act(cast, person, WED, "PM", "withhold")
    act(cast, person, THU, "AM", "withhold", hh=9)
    missed_sessions_scan(now=london(THU, 23))
    wednesday_am = session_of(person, WED, "AM").pk
    assert alerts(person, AlertKind.CONSECUTIVE_MISSED) == [f"streak:{wednesday_am}"]


def test_a_dose_before_the_scan_does_not_lose_the_warning_for_the_run_it_ends(cast, person):
    dose(cast, person, TUE, "AM")
    # Tuesday PM and Wednesday AM missed, unscanned: settled before the dose.
    dose(cast, person, WED, "PM", hh=14)
    tuesday_pm = session_of(person, TUE, "PM").pk
    assert alerts(person, AlertKind.CONSECUTIVE_MISSED) == [f"streak:{tuesday_pm}"]
    assert f"session:{tuesday_pm}" in alerts(person, AlertKind.MISSED_DOSE)
    assert status(person) == (Status.MAINTENANCE, 0)
    missed_sessions_scan(now=london(WED, 23))
    assert alerts(person, AlertKind.CONSECUTIVE_MISSED) == [f"streak:{tuesday_pm}"]


def suspend(cast, person, when, starts_on, **body):
    return api(
        cast,
        "nurse",
        when,
        "suspensions/",
        {
            "service_user": person.pk,
            "kind": "hospital",
            "starts_on": str(starts_on),
            "reason": "Admitted to the Royal",
            **body,
        },
    )


def test_a_suspension_recorded_after_a_window_closed_does_not_excuse_it(cast, person):
    assert suspend(cast, person, london(TUE, 12), TUE).status_code == 201
    tuesday_am = session_of(person, TUE, "AM")
    assert tuesday_am.status == SessionStatus.MISSED
    assert alerts(person, AlertKind.MISSED_DOSE) == [f"session:{tuesday_am.pk}"]
    assert session_of(person, TUE, "PM").status == SessionStatus.EXCUSED


def test_the_return_days_sessions_count_towards_the_suspensions_span(cast, person):
    created = suspend(cast, person, london(TUE, 7), TUE)
    assert created.status_code == 201
    # Back at noon on Wednesday: Tuesday AM and PM and Wednesday AM were away, three,
    # the clinic's threshold.
    ended = api(
        cast,
        "nurse",
        london(WED, 12),
        f"suspensions/{created.json()['id']}/end/",
        {"returned_on": str(WED)},
    )
    assert ended.status_code == 200 and ended.json()["sessions_missed"] == 3
    assert status(person)[0] == Status.RETITRATION_REQUIRED
    assert len(alerts(person, AlertKind.RETITRATION_REQUIRED)) == 1
    assert session_of(person, WED, "PM").status == SessionStatus.SCHEDULED


def test_a_retitration_prescription_restarts_the_count_and_a_new_run_alerts_again(cast, person):
    # Tuesday AM and PM and Wednesday AM missed: re-titration required, settled by the
    # prescription itself.
    issued = api(
        cast,
        "prescriber",
        london(WED, 12),
        "prescriptions/",
        {"service_user": person.pk, "slot_doses": {"AM": "30", "PM": "30"}, "reason": "Restart"},
    )
    assert issued.status_code == 201, issued.json()
    (first_block,) = alerts(person, AlertKind.RETITRATION_REQUIRED)
    assert status(person) == (Status.RETITRATION, 0)

    act(cast, person, WED, "PM", "decline")
    assert status(person) == (Status.RETITRATION, 1)
    act(cast, person, THU, "AM", "decline", hh=9)
    assert status(person) == (Status.RETITRATION, 2)
    new_run = f"streak:{session_of(person, WED, 'PM').pk}"
    assert new_run in alerts(person, AlertKind.CONSECUTIVE_MISSED)
    act(cast, person, THU, "PM", "decline")
    assert status(person) == (Status.RETITRATION_REQUIRED, 3)
    # Never silent: the second block is alerted as the first was.
    second_block = f"tolerance:{person.pk}:2026-02-14 12:00:00"  # from the prescription
    assert first_block == f"tolerance:{person.pk}:"  # never dosed here
    assert [
        cause[: len(second_block)] for cause in alerts(person, AlertKind.RETITRATION_REQUIRED)
    ] == [
        first_block,
        second_block,
    ]


def test_what_the_api_and_the_board_show_is_settled_though_the_scan_never_ran(cast, person):
    # Tuesday AM and PM and Wednesday AM closed, unscanned.
    with time_machine.travel(london(WED, 12), tick=False):
        shown = cast.client("nurse").get(f"/api/v1/service-users/{person.pk}/").json()
        board = cast.client("nurse").get("/dosing/?date=2026-02-11&slot=AM")
    assert (shown["status"], shown["consecutive_not_taken"]) == ("retitration_required", 3)
    assert board.status_code == 200
    assert [s.status for s in board.context["sessions"]] == [SessionStatus.MISSED]
    assert alerts(person, AlertKind.RETITRATION_REQUIRED) == [f"tolerance:{person.pk}:"]


def test_the_session_page_shows_a_closed_window_as_missed(cast, person):
    session = session_of(person, TUE, "AM")
    with time_machine.travel(london(TUE, 12), tick=False):
        page = cast.client("nurse").get(f"/dosing/sessions/{session.pk}/")
    assert page.status_code == 200
    assert page.context["session"].status == SessionStatus.MISSED


def test_titration_is_not_marked_complete_over_an_unsettled_lapse(cast):
    (person,) = people_on_prescription(cast, 1, status=Status.TITRATION)
    schedule(cast, TUE, WED)
    # Tuesday AM and PM and Wednesday AM closed, unscanned: three in a row.
    answer = api(
        cast,
        "prescriber",
        london(WED, 12),
        f"service-users/{person.pk}/titration-complete/",
        {"reason": "Stable"},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "not_in_titration"
    assert status(person) == (Status.RETITRATION_REQUIRED, 3)
