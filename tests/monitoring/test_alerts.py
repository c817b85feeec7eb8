"""Alerts (issue 5.3): stored, one open per kind and cause, an inbox by severity with
a count in the navigation, acknowledged with a note, e-mailed after commit."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from alerts.models import Alert, AlertAddress, AlertKind, Severity
from alerts.services import alert_acknowledge, alert_raise, alerts_email_pending
from core.errors import Conflict, RuleViolation
from core.roles import Role
from dosing.missed import missed_sessions_scan
from eligibility.pathway import service_user_admit
from monitoring.scans import free_places_offer
from tests.eligibility.pathway_setup import accepted
from tests.factories import make_service_user
from tests.helpers import names_staff, refused
from tests.monitoring.scan_setup import london, people_on_prescription, schedule

NOW = dt.datetime(2026, 2, 10, 12, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 2, 10)


def raise_alert(clinic, kind=AlertKind.MISSED_DOSE, cause="session:1", person=None):
    return alert_raise(
        kind=kind,
        clinic=clinic,
        service_user=person,
        cause_key=cause,
        detail=f"{kind.label} test",
        now=NOW,
    )


@pytest.fixture
def person(cast):
    from eligibility.models import Status

    return make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, now=NOW)


# The model and the services.


def test_the_database_keeps_one_open_alert_per_kind_and_cause(cast):
    first = raise_alert(cast.clinic_a)
    duplicate = Alert(
        kind=first.kind,
        severity=first.severity,
        clinic=cast.clinic_a,
        cause_key=first.cause_key,
        detail="again",
        created_at=NOW,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    alert_acknowledge(alert=first, by=cast.nurse, note="Phoned", now=NOW)
    duplicate.save()  # once the first is closed the database allows another
    assert Alert.objects.filter(cause_key=first.cause_key).count() == 2


def test_a_cause_is_raised_once_even_after_acknowledgement(cast):
    first = raise_alert(cast.clinic_a)
    assert raise_alert(cast.clinic_a) is None
    alert_acknowledge(alert=first, by=cast.nurse, note="Phoned", now=NOW)
    assert raise_alert(cast.clinic_a) is None
    assert raise_alert(cast.clinic_a, kind=AlertKind.TOX_OVERDUE).kind == AlertKind.TOX_OVERDUE


def test_an_acknowledgement_needs_a_note_and_happens_once(cast):
    alert = raise_alert(cast.clinic_a)
    with pytest.raises(RuleViolation) as refusal:
        alert_acknowledge(alert=alert, by=cast.nurse, note="  ", now=NOW)
    assert (refusal.value.code, refusal.value.field) == ("note_required", "note")
    alert_acknowledge(alert=alert, by=cast.nurse, note="Left a message", now=NOW)
    with pytest.raises(Conflict) as conflict:
        alert_acknowledge(alert=alert, by=cast.prescriber, note="Me too", now=NOW)
    assert f"already acknowledged by {cast.nurse.get_full_name()} at" in conflict.value.message
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledgement_note) == (cast.nurse, "Left a message")
    assert alert.history.first().history_user == cast.nurse


def test_the_database_refuses_an_acknowledgement_without_a_note(cast):
    alert = raise_alert(cast.clinic_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.filter(pk=alert.pk).update(acknowledged_by=cast.nurse, acknowledged_at=NOW)
    alert.refresh_from_db()
    assert alert.is_open


# A place offered from the waiting list.


def admit(cast, referral, now, witness=None):
    return service_user_admit(
        service_user=referral.service_user,
        admitted_by=cast.prescriber,
        agreement_signed_on=now.date(),
        witness=witness or cast.nurse,
        now=now,
    )


def place_offered(referral) -> Alert:
    return Alert.objects.get(kind=AlertKind.PLACE_OFFERED, service_user=referral.service_user)


def test_admission_closes_the_place_offered_alert_and_leaves_the_others_open(cast):
    offered, next_offered = accepted(cast, now=NOW), accepted(cast, now=NOW)
    assert free_places_offer(clinic_ids=[cast.clinic_a.pk], now=NOW) == 2
    other = raise_alert(cast.clinic_a, AlertKind.REGISTER_DISCREPANCY, "register:1")
    admitted_at = NOW + dt.timedelta(days=1)
    refused(
        "witness_not_staff",
        admit,
        cast=cast,
        referral=offered,
        now=admitted_at,
        witness=cast.nurse_b,
    )
    assert place_offered(offered).is_open, "a refused admission closes nothing"

    admit(cast, offered, admitted_at)
    closed = place_offered(offered)
    assert (closed.acknowledged_by, closed.acknowledged_at, closed.acknowledgement_note) == (
        cast.prescriber,
        admitted_at,
        "Admitted on 11 Feb 2026.",
    )
    assert closed.history.first().history_user == cast.prescriber
    assert place_offered(next_offered).is_open
    other.refresh_from_db()
    assert other.is_open


def test_admitting_in_the_browser_closes_the_place_offered_alert(cast):
    offered = accepted(cast, now=NOW)
    free_places_offer(clinic_ids=[cast.clinic_a.pk], now=NOW)
    with time_machine.travel(NOW, tick=False):
        response = cast.client("prescriber").post(
            reverse("referral-admit", args=[offered.pk]),
            {"agreement_signed_on": "2026-02-10", "witness": cast.nurse.pk},
        )
    assert response.status_code == 302
    alert = place_offered(offered)
    assert (alert.acknowledged_by, alert.acknowledgement_note) == (
        cast.prescriber,
        "Admitted on 10 Feb 2026.",
    )


# E-mail.


def test_new_alerts_are_emailed_after_commit_to_each_roles_address(
    cast, django_capture_on_commit_callbacks
):
    AlertAddress.objects.create(clinic=cast.clinic_a, role=Role.NURSE, email="nurses@clinic.test")
    AlertAddress.objects.create(
        clinic=cast.clinic_a, role=Role.PRESCRIBER, email="prescribers@clinic.test"
    )
    people = people_on_prescription(cast, 2)
    schedule(cast, DAY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        missed_sessions_scan(now=london(DAY, 11, 30))
    assert callbacks, "the e-mail is queued only once the scan has committed"

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nurses@clinic.test"]
    assert message.subject == "Clinic A: 2 new alerts"
    assert "- Missed dose: 2" in message.body
    assert "http://localhost:8000/alerts/" in message.body
    for person in people:
        assert person.family_name not in message.body and person.nhs_number not in message.body
    assert not Alert.objects.filter(emailed_at__isnull=True).exists()
    assert alerts_email_pending() == 0, "nothing is sent twice"


def test_a_prescriber_alert_goes_to_the_prescribers(cast):
    AlertAddress.objects.create(clinic=cast.clinic_a, role=Role.NURSE, email="n@clinic.test")
    AlertAddress.objects.create(clinic=cast.clinic_a, role=Role.PRESCRIBER, email="p@clinic.test")
    raise_alert(cast.clinic_a, kind=AlertKind.REVIEW_OVERDUE, cause="review:1")
    raise_alert(cast.clinic_b, kind=AlertKind.REVIEW_OVERDUE, cause="review:2")  # no address
    assert alerts_email_pending(now=NOW) == 1
    assert [m.to for m in mail.outbox] == [["p@clinic.test"]]
    assert "- Prescriber review overdue: 1" in mail.outbox[0].body


# The inbox.


def test_the_inbox_lists_open_alerts_by_severity_with_a_count_in_the_navigation(cast, person):
    raise_alert(cast.clinic_a, AlertKind.MISSED_DOSE, "session:1", person)
    raise_alert(cast.clinic_a, AlertKind.RETITRATION_REQUIRED, "streak:1", person)
    raise_alert(cast.clinic_b, AlertKind.MISSED_DOSE, "session:2")
    response = cast.client("nurse").get(reverse("alert-inbox"))
    page = response.content.decode()
    assert response.status_code == 200
    assert [severity for severity, _ in response.context["groups"]] == [
        Severity.URGENT,
        Severity.NOTICE,
    ]
    assert page.index("Re-titration required") < page.index("Missed dose test")
    assert 'data-testid="nav-alert-count">2<' in page
    assert person.display_name in page


def test_acknowledging_in_the_browser(cast, person):
    alert = raise_alert(cast.clinic_a, person=person)
    client = cast.client("nurse")
    url = reverse("alert-acknowledge", args=[alert.pk])
    refused = client.post(url, {"note": ""})
    assert refused.status_code == 400
    assert "Say what was done about the alert" in refused.content.decode()
    done = client.post(url, {"note": "Phoned: coming this afternoon"}, follow=True)
    assert "Acknowledged: Missed dose." in done.content.decode()
    assert "Phoned: coming this afternoon" in done.content.decode()  # the recent list
    assert done.context["open_count"] == 0
    again = client.post(url, {"note": "Again"}, follow=True)
    assert "already acknowledged" in again.content.decode()


def test_a_refused_note_is_shown_again_as_it_was_typed(cast, person):
    alert = raise_alert(cast.clinic_a, person=person)
    url = reverse("alert-acknowledge", args=[alert.pk])
    refused = cast.client("nurse").post(url, {"note": "Phoned\x00 her sister"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert f'aria-describedby="note-error-{alert.pk}"' in page
    assert 'value="Phoned' in page and "her sister" in page
    alert.refresh_from_db()
    assert alert.is_open


def test_the_inbox_and_the_timeline_name_who_acknowledged(cast, person):
    alert = raise_alert(cast.clinic_a, person=person)
    alert_acknowledge(alert=alert, by=cast.nurse, note="Phoned", now=NOW)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        client = cast.client("manager")
        inbox = client.get(reverse("alert-inbox")).content.decode()
        timeline = client.get(reverse("service-user-timeline", args=[person.pk]))
    recent = inbox[inbox.index('id="recent"') :]
    names_staff(recent, cast.nurse)
    names_staff(timeline.content.decode(), cast.nurse)
    (event,) = [e for e in timeline.context["events"] if e.kind == "alert"]
    assert event.detail.endswith(f" Acknowledged by {cast.nurse.get_full_name()}: Phoned")


@pytest.mark.parametrize(
    ("who", "inbox", "acknowledge"),
    [
        ("nurse", 200, 302),
        ("hca", 200, 403),
        ("prescriber", 200, 302),
        ("manager", 200, 302),
        ("nurse_b", 200, 404),
        (None, 302, 302),
    ],
)
def test_the_inbox_role_cast(cast, who, inbox, acknowledge):
    alert = raise_alert(cast.clinic_a)
    client = cast.client(who)
    response = client.get(reverse("alert-inbox"))
    assert response.status_code == inbox
    if who == "nurse_b":
        assert response.context["open_count"] == 0, "another clinic's alerts stay hidden"
    answer = client.post(reverse("alert-acknowledge", args=[alert.pk]), {"note": "Seen"})
    assert answer.status_code == acknowledge
    if who is None:
        assert answer["Location"].startswith(reverse("login"))
    alert.refresh_from_db()
    assert alert.is_open == (acknowledge != 302 or who is None)


# The API.


def test_the_api_lists_open_alerts_and_acknowledges(cast, person):
    alert = raise_alert(cast.clinic_a, person=person)
    closed = raise_alert(cast.clinic_a, cause="session:9", person=person)
    alert_acknowledge(alert=closed, by=cast.nurse, note="Done", now=NOW)
    client = cast.client("nurse")
    listed = client.get("/api/v1/alerts/?open=true").json()
    assert [row["id"] for row in listed["results"]] == [alert.pk]
    assert listed["results"][0]["severity"] == "Notice"
    url = f"/api/v1/alerts/{alert.pk}/acknowledge/"
    assert client.post(url, {}, content_type="application/json").status_code == 400
    unknown = client.post(url, {"note": "x", "notes": "y"}, content_type="application/json")
    assert unknown.status_code == 400 and "notes" in unknown.json()
    done = client.post(url, {"note": "Phoned"}, content_type="application/json")
    assert done.status_code == 200
    assert (done.json()["is_open"], done.json()["acknowledgement_note"]) == (False, "Phoned")
    again = client.post(url, {"note": "Phoned"}, content_type="application/json")
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("who", "listing", "acknowledge"),
    [
        ("nurse", 200, 200),
        ("hca", 200, 403),
        ("prescriber", 200, 200),
        ("manager", 200, 200),
        ("nurse_b", 200, 404),
        (None, 403, 403),
    ],
)
def test_the_api_role_cast(cast, who, listing, acknowledge):
    alert = raise_alert(cast.clinic_a)
    client = cast.client(who)
    response = client.get("/api/v1/alerts/")
    assert response.status_code == listing
    if who == "nurse_b":
        assert response.json()["results"] == []
    answer = client.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge/",
        {"note": "Seen"},
        content_type="application/json",
    )
    assert answer.status_code == acknowledge


def test_the_inbox_runs_fixed_queries(cast, person, django_assert_max_num_queries):
    for n in range(40):
        raise_alert(cast.clinic_a, cause=f"session:{n}", person=person)
        raise_alert(cast.clinic_a, AlertKind.CONSECUTIVE_MISSED, f"streak:{n}", person)
    for alert in Alert.objects.all()[:20]:
        alert_acknowledge(alert=alert, by=cast.nurse, note="Seen", now=dt.datetime.now(dt.UTC))
    client = cast.client("nurse")
    # Session, user, clinic, one permission read, roles held, the nav count, open and
    # recent alerts, and the session save (3): whatever the number of alerts.
    with django_assert_max_num_queries(12):  # with the session's second-factor device
        response = client.get(reverse("alert-inbox"))
    assert response.context["open_count"] == 60


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("nurse", 403),
        ("hca", 403),
        ("prescriber", 403),
        ("nurse_b", 403),
        (None, 302),
    ],
)
def test_only_managers_set_the_alert_addresses(cast, who, status):
    assert cast.client(who).get(reverse("alert-addresses")).status_code == status


def test_a_manager_sets_and_clears_the_team_addresses(cast):
    client = cast.client("manager")
    url = reverse("alert-addresses")
    bad = client.post(url, {"Nurse": "not an address"})
    assert bad.status_code == 400 and "Enter a valid email address." in bad.content.decode()
    client.post(url, {"Nurse": "nurses@a.test", "Prescriber": "rx@a.test"})
    assert dict(AlertAddress.objects.values_list("role", "email")) == {
        Role.NURSE: "nurses@a.test",
        Role.PRESCRIBER: "rx@a.test",
    }
    client.post(url, {"Nurse": "", "Prescriber": "rx@a.test"})
    assert list(AlertAddress.objects.values_list("role", flat=True)) == [Role.PRESCRIBER]
    assert AlertAddress.history.filter(history_type="-").get().history_user == cast.manager
    # Clinic B's manager would see only clinic B's: addresses belong to the current clinic.
    assert set(AlertAddress.objects.values_list("clinic", flat=True)) == {cast.clinic_a.pk}


def test_the_service_refuses_an_address_that_is_not_one(cast):
    from alerts.services import alert_addresses_set

    refused(
        "email_invalid",
        alert_addresses_set,
        clinic=cast.clinic_a,
        addresses={Role.NURSE: "nurses at the clinic"},
        by=cast.manager,
    )
    assert not AlertAddress.objects.exists()
