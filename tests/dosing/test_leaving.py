"""Suspension and exit (issue 6.5, 6.6)."""

import datetime as dt

import pytest

from alerts.models import Alert, AlertKind
from core.errors import Conflict
from dosing.leaving import service_user_exit, suspension_end, suspension_start
from dosing.models import DoseSession, SessionStatus
from dosing.sessions import dose_sessions_generate
from eligibility.models import Referral, Status
from tests.helpers import refused
from tests.monitoring.scan_setup import LONDON, SET_UP, people_on_prescription

DAY = dt.date(2026, 2, 10)


def at(day, hh=7):
    return dt.datetime.combine(day, dt.time(hh), tzinfo=LONDON)


@pytest.fixture
def person(cast):
    (person,) = people_on_prescription(cast, 1)
    dose_sessions_generate(clinic=cast.clinic_a, days=[DAY, DAY + dt.timedelta(days=1)], now=SET_UP)
    return person


def suspend(cast, person, day=DAY, **kwargs):
    return suspension_start(
        service_user=person,
        kind="hospital",
        starts_on=day,
        reason="Admitted to the Royal with pneumonia",
        recorded_by=cast.nurse,
        now=at(day),
        **kwargs,
    )


def test_a_suspension_excuses_sessions_and_new_ones_are_made_excused(cast, person):
    suspension = suspend(cast, person)
    person.refresh_from_db()
    assert person.status == Status.SUSPENDED
    assert suspension.status_before == Status.MAINTENANCE
    sessions = DoseSession.objects.filter(service_user=person)
    assert set(sessions.values_list("status", "outcome_reason")) == {("excused", "suspended")}
    assert sessions.first().history.first().history_change_reason == "Excused: Hospital admission"
    later = DAY + dt.timedelta(days=2)
    dose_sessions_generate(clinic=cast.clinic_a, days=[later], now=at(later, 0))
    assert set(
        DoseSession.objects.filter(clinic_day=later).values_list("status", "outcome_reason")
    ) == {("excused", "suspended")}
    with pytest.raises(Conflict):
        suspend(cast, person)


def test_a_short_suspension_resumes_where_the_person_was(cast, person):
    suspension = suspend(cast, person)
    back = DAY + dt.timedelta(days=1)
    suspension_end(suspension=suspension, returned_on=back, ended_by=cast.nurse, now=at(back))
    person.refresh_from_db()
    assert person.status == Status.MAINTENANCE
    assert suspension.sessions_missed == 2
    # The day of return's sessions, excused ahead, are scheduled again.
    assert set(DoseSession.objects.filter(clinic_day=back).values_list("status", flat=True)) == {
        SessionStatus.SCHEDULED
    }


def test_a_suspension_spanning_the_threshold_needs_retitration_and_alerts(cast, person):
    suspension = suspend(cast, person)
    back = DAY + dt.timedelta(days=2)
    dose_sessions_generate(clinic=cast.clinic_a, days=[back], now=at(back, 0))
    suspension_end(suspension=suspension, returned_on=back, ended_by=cast.nurse, now=at(back))
    person.refresh_from_db()
    assert (person.status, suspension.sessions_missed) == (Status.RETITRATION_REQUIRED, 4)
    alert = Alert.objects.get(kind=AlertKind.RETITRATION_REQUIRED)
    assert "after 4 sessions away" in alert.detail


def test_confirmed_opioid_cover_avoids_retitration_but_only_a_prescriber_confirms(cast, person):
    suspension = suspend(cast, person)
    back = DAY + dt.timedelta(days=2)
    refused(
        "cover_needs_prescriber",
        suspension_end,
        suspension=suspension,
        returned_on=back,
        ended_by=cast.nurse,
        opioid_cover_confirmed=True,
        now=at(back),
    )
    suspension_end(
        suspension=suspension,
        returned_on=back,
        ended_by=cast.prescriber,
        opioid_cover_confirmed=True,
        now=at(back),
    )
    person.refresh_from_db()
    assert person.status == Status.MAINTENANCE
    # Attendance still counts those sessions as excused, not missed.
    assert not DoseSession.objects.filter(status=SessionStatus.MISSED).exists()


def test_suspension_dates_must_make_sense(cast, person):
    refused(
        "date_in_future",
        suspension_start,
        service_user=person,
        kind="custody",
        starts_on=DAY + dt.timedelta(days=1),
        reason="Court tomorrow",
        recorded_by=cast.nurse,
        now=at(DAY),
    )
    suspension = suspend(cast, person)
    refused(
        "end_before_start",
        suspension_end,
        suspension=suspension,
        returned_on=DAY - dt.timedelta(days=1),
        ended_by=cast.nurse,
        now=at(DAY),
    )


def test_an_exit_records_its_kind_stops_sessions_frees_the_place_and_closes_the_referral(
    cast, person
):
    referral = Referral.objects.create(
        service_user=person,
        clinic=cast.clinic_a,
        referred_by="GP",
        referral_date=DAY - dt.timedelta(days=60),
        substance_use_history="Heroin",
        treatment_history="Methadone",
        recorded_by=cast.nurse,
        recorded_at=SET_UP,
    )
    refused(
        "exit_detail",
        service_user_exit,
        service_user=person,
        kind="planned",
        detail="disengaged",
        reason="x",
        exited_on=DAY,
        recorded_by=cast.prescriber,
        now=at(DAY),
    )
    wrong_kind = refused(
        "exit_detail",
        service_user_exit,
        service_user=person,
        kind="unplanned",
        detail="oral_treatment",
        reason="x",
        exited_on=DAY,
        recorded_by=cast.prescriber,
        now=at(DAY),
    )
    assert wrong_kind.message.startswith("An unplanned exit is one of: ")
    exit_record = service_user_exit(
        service_user=person,
        kind="planned",
        detail="oral_treatment",
        reason="Stable: moving to oral methadone with the community team",
        exited_on=DAY,
        recorded_by=cast.prescriber,
        now=at(DAY),
    )
    person.refresh_from_db()
    assert person.status == Status.EXITED
    assert exit_record.get_detail_display() == "Transfer to oral treatment"
    assert set(
        DoseSession.objects.filter(service_user=person).values_list("outcome_reason", flat=True)
    ) == {"exited"}
    referral.refresh_from_db()
    assert referral.closed_reason == "Exit: Transfer to oral treatment"
    later = DAY + dt.timedelta(days=3)
    assert dose_sessions_generate(clinic=cast.clinic_a, days=[later], now=at(later, 0)) == 0


def test_an_exit_offers_the_freed_place_to_the_waiting_list(
    cast, person, django_capture_on_commit_callbacks
):
    from eligibility.services import policy_issue
    from tests.eligibility.pathway_setup import accepted

    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        effective_from=at(DAY, 6),
        reason="One place",
        capacity=1,
        now=at(DAY, 6),
    )
    waiting = accepted(cast, now=at(DAY, 6))
    with django_capture_on_commit_callbacks(execute=True):
        service_user_exit(
            service_user=person,
            kind="unplanned",
            detail="disengaged",
            reason="Not seen for three weeks",
            exited_on=DAY,
            recorded_by=cast.prescriber,
            now=at(DAY),
        )
    waiting.refresh_from_db()
    assert waiting.offered_at is not None
    alert = Alert.objects.get(kind=AlertKind.PLACE_OFFERED)
    assert alert.service_user == waiting.service_user


# The API and the pages.


def test_suspension_and_return_through_the_api(cast, person):
    import time_machine

    client = cast.client("nurse")
    with time_machine.travel(at(DAY), tick=False):
        created = client.post(
            "/api/v1/suspensions/",
            {
                "service_user": person.pk,
                "kind": "custody",
                "starts_on": str(DAY),
                "reason": "Remand",
            },
            content_type="application/json",
        )
        assert created.status_code == 201, created.json()
        again = client.post(
            "/api/v1/suspensions/",
            {"service_user": person.pk, "kind": "custody", "starts_on": str(DAY), "reason": "x"},
            content_type="application/json",
        )
        assert again.status_code == 409
        ended = client.post(
            f"/api/v1/suspensions/{created.json()['id']}/end/",
            {"returned_on": str(DAY)},
            content_type="application/json",
        )
    assert ended.status_code == 200 and ended.json()["sessions_missed"] == 0
    person.refresh_from_db()
    assert person.status == Status.MAINTENANCE


@pytest.mark.parametrize(
    ("who", "suspend_status", "exit_status"),
    [
        ("nurse", 201, 403),
        ("hca", 403, 403),
        ("prescriber", 201, 201),
        ("manager", 403, 403),
        ("nurse_b", 404, 403),
        (None, 403, 403),
    ],
)
def test_the_leaving_api_role_cast(cast, person, who, suspend_status, exit_status):
    import time_machine

    client = cast.client(who)
    with time_machine.travel(at(DAY), tick=False):
        suspended = client.post(
            "/api/v1/suspensions/",
            {"service_user": person.pk, "kind": "hospital", "starts_on": str(DAY), "reason": "x"},
            content_type="application/json",
        )
        exited = client.post(
            "/api/v1/exits/",
            {
                "service_user": person.pk,
                "kind": "unplanned",
                "detail": "custody",
                "reason": "Sentenced",
                "exited_on": str(DAY),
            },
            content_type="application/json",
        )
    assert suspended.status_code == suspend_status
    assert exited.status_code == exit_status


def test_suspend_return_and_exit_in_the_browser(cast, person):
    import time_machine
    from django.urls import reverse

    with time_machine.travel(at(DAY), tick=False):
        nurse = cast.client("nurse")
        page = nurse.get(reverse("service-user-detail", args=[person.pk])).content.decode()
        assert "Suspend" in page and "Record exit" not in page
        refused = nurse.post(
            reverse("suspend", args=[person.pk]),
            {"kind": "hospital", "starts_on": str(DAY + dt.timedelta(days=1)), "reason": "x"},
        )
        assert refused.status_code == 400 and "is in the future" in refused.content.decode()
        done = nurse.post(
            reverse("suspend", args=[person.pk]),
            {"kind": "hospital", "starts_on": str(DAY), "reason": "Pneumonia"},
            follow=True,
        )
        assert "suspended: sessions are excused" in done.content.decode()
        suspension = person.suspensions.get()
        nurse.post(reverse("suspension-return", args=[suspension.pk]), {"returned_on": str(DAY)})
        prescriber = cast.client("prescriber")
        exited = prescriber.post(
            reverse("exit", args=[person.pk]),
            {
                "kind": "planned",
                "detail": "residential_rehab",
                "exited_on": str(DAY),
                "reason": "Place at Ashby House",
            },
            follow=True,
        )
    assert "the place is free" in exited.content.decode()
    assert "Planned exit on 10 Feb 2026 (transfer to residential rehab)" in exited.content.decode()
