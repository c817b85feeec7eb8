"""The session page as safe as the services (issue 14): naloxone and adverse events,
the dose shown is the dose enforced, defer and reassess, the observation-overdue
scan, and a blocked person's next step. Each rule through the service, the API and
the page (a Django client here; tests/browser drives the same in Chromium)."""

import datetime as dt
import html
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alerts.models import KIND_ROLES, Alert, AlertKind, Severity
from dosing.assessment import session_assess
from dosing.missed import missed_sessions_scan, observations_overdue_scan
from dosing.models import Assessment, DoseSession, Observation, SessionStatus
from dosing.prescribing import prescription_issue
from dosing.room import dose_administer, session_observe
from eligibility.models import Status
from eligibility.services import policy_issue, service_user_transition
from hat_clinic.celery import app
from tests.dosing.room_setup import (
    DAY,
    LONDON,
    SET_UP,
    assessed_for_pm_on_160,
    give_dose,
    inject,
    on_prescription,
    with_breath_thresholds,
)
from tests.factories import PASSWORD
from tests.helpers import form_data, refused

pytestmark = pytest.mark.django_db


def at(hh, mm=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=LONDON)


def page_url(session):
    return reverse("dose-session", args=[session.pk])


def post_form(client, session, action, **fields):
    """Submit one of the session page's forms, with its inputs as the page names them."""
    data = {"action": action, **{f"{action}-{k}": v for k, v in fields.items()}}
    return client.post(page_url(session), data)


def api_administer(cast, session, *, mg="60", **fields):
    """POST an injection through the API as the nurse, witnessed by the HCA."""
    return cast.client("nurse").post(
        f"/api/v1/dose-sessions/{session.pk}/administer/",
        {
            "drawn_mg": mg,
            "injected_mg": mg,
            "route": "iv",
            "site": "arm",
            "witness_username": cast.hca.username,
            "witness_password": PASSWORD,
            **fields,
        },
        content_type="application/json",
    )


def slot(person, code="AM"):
    return DoseSession.objects.get(service_user=person, slot_code=code)


# 1. Naloxone and adverse events -----------------------------------------------------


@pytest.fixture
def dosed_pm(cast):
    """A PM dose given at 15:00."""
    person = on_prescription(cast, preferred_name="Sunny")
    return give_dose(cast, slot(person, "PM"), at(15))


def test_an_overdose_with_naloxone_and_an_ambulance_records_from_the_page(cast, dosed_pm):
    with time_machine.travel(at(15, 25), tick=False):
        response = post_form(
            cast.client("nurse"),
            dosed_pm,
            "observe",
            outcome="adverse_event",
            overdose="on",
            ambulance_called="on",
            naloxone_mg="0.4",
            naloxone_at="15:20",
            details="Respiratory depression, roused after naloxone",
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    observation = Observation.objects.get(session=dosed_pm)
    assert observation.naloxone_mg == Decimal("0.4")
    assert observation.naloxone_at == at(15, 20)
    assert observation.ambulance_called and observation.overdose
    alert = Alert.objects.get(kind=AlertKind.ADVERSE_EVENT)
    assert alert.severity == Severity.URGENT
    assert (alert.service_user, alert.session) == (dosed_pm.service_user, dosed_pm)
    assert "overdose, naloxone 0.4 mg at 15:20, ambulance called" in alert.detail
    # docs/domain.md: an adverse event alerts prescribers and managers at once.
    assert {"Prescriber", "Manager"} <= {role.label for role in KIND_ROLES[alert.kind]}


def test_an_adverse_event_shows_everywhere_afterwards(cast, dosed_pm):
    with time_machine.travel(at(15, 25), tick=False):
        session_observe(
            session=dosed_pm,
            observer=cast.nurse,
            outcome="adverse_event",
            over_sedation=True,
            naloxone_mg="0.4",
            naloxone_at=at(15, 20),
            details="Pinned pupils, slow breathing",
        )
    signs = "over-sedation, naloxone 0.4 mg at 15:20"
    person = dosed_pm.service_user
    with time_machine.travel(at(16), tick=False):
        session_page = cast.client("nurse").get(page_url(dosed_pm)).content.decode()
        timeline = (
            cast.client("nurse")
            .get(reverse("service-user-timeline", args=[person.pk]))
            .content.decode()
        )
        review = (
            cast.client("prescriber").get(reverse("review-new", args=[person.pk])).content.decode()
        )
        person_page = (
            cast.client("nurse")
            .get(reverse("service-user-detail", args=[person.pk]))
            .content.decode()
        )
    assert "Adverse event" in session_page and signs in session_page
    assert "Pinned pupils, slow breathing" in session_page
    assert 'data-urgent="true"' in timeline and signs in timeline
    assert 'data-testid="adverse-events"' in review and signs in review
    assert 'data-testid="adverse-events"' in person_page and signs in person_page


def test_a_correction_that_makes_an_observation_an_adverse_event_alerts_and_shows(cast, dosed_pm):
    from dosing.amendments import session_amend

    with time_machine.travel(at(15, 25), tick=False):
        session_observe(session=dosed_pm, observer=cast.nurse, outcome="no_concerns")
        assert not Alert.objects.filter(kind=AlertKind.ADVERSE_EVENT).exists()
        session_amend(
            session=dosed_pm,
            amended_by=cast.nurse,
            record="observation",
            changes={"outcome": "adverse_event", "over_sedation": True, "details": "Drowsy"},
            reason="Recorded against the wrong outcome",
        )
        timeline = cast.client("nurse").get(
            reverse("service-user-timeline", args=[dosed_pm.service_user_id])
        )
    assert Alert.objects.filter(kind=AlertKind.ADVERSE_EVENT).count() == 1
    assert 'data-urgent="true"' in timeline.content.decode()


def test_left_before_the_observation_ended_is_an_outcome_recorded_early(cast):
    person = on_prescription(cast)
    session = give_dose(cast, slot(person), at(9))
    refusal = refused(
        "observation_too_soon",
        session_observe,
        session=session,
        observer=cast.nurse,
        outcome="no_concerns",
        now=at(9, 5),
    )
    assert "If the service user has left, record that instead" in refusal.message
    session_observe(session=session, observer=cast.nurse, outcome="left_early", now=at(9, 5))
    session.refresh_from_db()
    assert session.status == SessionStatus.OBSERVED
    assert session.observation.get_outcome_display() == "Left before the observation ended"


@pytest.mark.parametrize(("hh", "mm"), [(14, 50), (15, 40)])
def test_naloxone_is_given_after_the_injection_and_not_in_the_future(cast, dosed_pm, hh, mm):
    refused(
        "naloxone_time_invalid",
        session_observe,
        session=dosed_pm,
        observer=cast.nurse,
        outcome="adverse_event",
        overdose=True,
        naloxone_mg="0.4",
        naloxone_at=at(hh, mm),
        details="Overdose",
        now=at(15, 30),
    )
    assert not Observation.objects.exists()


# 2. Bad values are refusals that name their field, never a 500 ------------------------


def test_an_assessment_with_no_poss_is_refused_beside_poss_and_keeps_the_identity_tick(cast):
    session = slot(on_prescription(cast))
    with time_machine.travel(at(9), tick=False):
        response = post_form(cast.client("nurse"), session, "assess", identity_confirmed="on")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the sedation score (POSS)." in page
    assert form_data(page, aria_labelledby="assess-h")["assess-identity_confirmed"] == "on"
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("call", "values", "field"),
    [
        (session_assess, {"identity_confirmed": True, "poss": ""}, "poss"),
        (session_assess, {"identity_confirmed": True, "poss": "9"}, "poss"),
    ],
)
def test_a_bad_choice_in_a_service_names_its_field(cast, call, values, field):
    session = slot(on_prescription(cast))
    with pytest.raises(Exception) as refusal:
        call(session=session, nurse=cast.nurse, now=at(9), **values)
    assert refusal.value.__class__.__name__ == "RuleViolation"
    assert refusal.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"route": "vein"}, "route"),
        ({"site": "ear"}, "site"),
    ],
)
def test_an_injection_with_an_unknown_route_or_site_names_it(cast, changes, field):
    session = slot(on_prescription(cast))
    session_assess(session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=at(9))
    values = {"drawn_mg": "60", "injected_mg": "60", "route": "iv", "site": "arm", **changes}
    refusal = refused(
        "choice_invalid",
        dose_administer,
        session=session,
        nurse=cast.nurse,
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        now=at(9),
        **values,
    )
    assert refusal.field == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("withhold", {"reason": ""}, "reason"),
        ("observe", {"outcome": "fine"}, "outcome"),
        ("amend", {"record": "nothing", "changes": {}, "reason": "x"}, "record"),
        (
            "amend",
            {"record": "assessment", "sequence": 10**20, "changes": {}, "reason": "x"},
            "sequence",
        ),
    ],
)
def test_the_api_refuses_bad_values_with_a_400_naming_the_field(cast, path, body, field):
    session = give_dose(cast, slot(on_prescription(cast)), at(9))
    with time_machine.travel(at(10), tick=False):
        response = cast.client("nurse").post(
            f"/api/v1/dose-sessions/{session.pk}/{path}/", body, content_type="application/json"
        )
    assert response.status_code in (400, 409), response.content
    assert field in response.content.decode()


# 3. Refusals keep what was typed --------------------------------------------------------


def test_a_wrong_witness_password_keeps_every_value_but_the_password(cast):
    session = slot(on_prescription(cast))
    session_assess(session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=at(9))
    with time_machine.travel(at(9, 5), tick=False):
        response = post_form(
            cast.client("nurse"),
            session,
            "administer",
            drawn_mg="60",
            injected_mg="55",
            route="iv",
            site="hand",
            witness_username=cast.hca.username,
            witness_password="not-the-password",
        )
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "The witness's username or password is not right, or they are not on" in page
    kept = form_data(page, aria_labelledby="inject-h")
    assert (kept["administer-drawn_mg"], kept["administer-injected_mg"]) == ("60", "55")
    assert (kept["administer-route"], kept["administer-site"]) == ("iv", "hand")
    assert kept["administer-witness_username"] == cast.hca.username
    assert kept["administer-witness_password"] == ""
    assert 'aria-invalid="true"' in page


# 4. The dose shown is the dose enforced ----------------------------------------------------


@pytest.fixture
def new_version_in_the_pm_window(cast):
    """160 mg a session; at 13:30, with the PM window open, a version of 80 mg starts."""
    session = assessed_for_pm_on_160(cast)
    person = session.service_user
    old = person.prescriptions.get()
    new = prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "80", "PM": "80"},
        reason="Sedated at home: halved",
        valid_from=at(13, 30),
        now=at(13, 20),
    )
    return session, old, new


def test_the_board_the_page_and_the_api_show_the_version_in_force_now(
    cast, new_version_in_the_pm_window
):
    session, _old, new = new_version_in_the_pm_window
    client = cast.client("nurse")
    with time_machine.travel(at(13, 25), tick=False):
        board = client.get(reverse("board"), {"date": "2026-02-10", "slot": "PM"}).content
        assert "160.00 mg" in board.decode()
    with time_machine.travel(at(13, 31), tick=False):
        board = client.get(reverse("board"), {"date": "2026-02-10", "slot": "PM"}).content.decode()
        page = client.get(page_url(session)).content.decode()
        api = client.get(f"/api/v1/dose-sessions/{session.pk}/").json()
    assert "80.00 mg" in board and "160.00 mg" not in board
    assert "Prescribed PM dose: 80 mg" in page
    assert form_data(page, aria_labelledby="inject-h")["administer-prescription"] == str(new.pk)
    assert api["prescription"] == {"id": new.pk, "version": new.version, "dose_mg": "80.00"}


def test_a_dose_against_the_version_shown_earlier_is_refused_naming_the_new_dose(
    cast, new_version_in_the_pm_window
):
    session, old, new = new_version_in_the_pm_window
    client = cast.client("nurse")
    with time_machine.travel(at(13, 31), tick=False):
        response = post_form(
            client,
            session,
            "administer",
            drawn_mg="80",
            injected_mg="80",
            route="iv",
            site="arm",
            witness_username=cast.hca.username,
            witness_password=PASSWORD,
            prescription=str(old.pk),
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "The prescription changed since this page was opened" in page
        assert "80 mg for PM" in page
        again = form_data(page, aria_labelledby="inject-h")
        assert again["administer-prescription"] == str(new.pk)
        assert again["administer-injected_mg"] == "80"
        again["administer-witness_password"] = PASSWORD
        assert client.post(page_url(session), again).status_code == 302
    session.refresh_from_db()
    assert session.administrations.get().injected_mg == Decimal("80")


def test_the_api_refuses_a_dose_against_an_older_version(cast, new_version_in_the_pm_window):
    session, old, _new = new_version_in_the_pm_window
    with time_machine.travel(at(13, 31), tick=False):
        response = api_administer(cast, session, mg="80", prescription=old.pk)
    assert response.status_code == 400
    assert response.json()["code"] == "prescription_changed"
    assert "80 mg for PM" in response.json()["detail"]
    assert not session.administrations.exists()


# 5. Defer and reassess ---------------------------------------------------------------------


def assess(session, cast, poss, when, **values):
    return session_assess(
        session=session, nurse=cast.nurse, identity_confirmed=True, poss=poss, now=when, **values
    )


def test_poss_3_deferred_then_reassessed_leads_to_a_dose(cast):
    session = slot(on_prescription(cast))
    first = assess(session, cast, "3", at(9), defer=True)
    session.refresh_from_db()
    assert session.status == SessionStatus.DEFERRED
    assert (first.decision, first.deferral_reason) == ("defer", "sedation")
    second = assess(session, cast, "1", at(10))
    assert (second.sequence, second.decision) == (2, "proceed")
    give = inject(cast, session, at(10, 5))
    assert give.injected_mg == Decimal("60")
    assert [a.poss for a in session.assessments.all()] == ["3", "1"]


def test_a_session_still_deferred_when_the_window_closes_is_withheld_not_missed(cast):
    person = on_prescription(cast)
    session = slot(person)
    assess(session, cast, "2", at(9), defer=True)
    scan = missed_sessions_scan(now=at(11, 31))
    session.refresh_from_db()
    assert session.status == SessionStatus.WITHHELD
    assert session.outcome_reason == "sedation"
    assert "Deferred for reassessment" in session.outcome_note
    assert scan.sessions_missed == 0
    assert not Alert.objects.filter(kind=AlertKind.MISSED_DOSE).exists()
    person.refresh_from_db()
    assert person.consecutive_not_taken == 1
    assert missed_sessions_scan(now=at(11, 40)) is None  # a second run changes nothing


@pytest.mark.parametrize(
    ("poss", "values", "code"),
    [
        ("1", {}, "defer_not_needed"),
    ],
)
def test_defer_is_for_a_caution_or_poss_3_or_4(cast, poss, values, code):
    session = slot(on_prescription(cast))
    refusal = refused(code, assess, session=session, cast=cast, poss=poss, when=at(9), defer=True)
    assert refusal.field == "poss"


def test_a_caution_without_its_reason_says_it_may_be_deferred(cast):
    session = slot(on_prescription(cast))
    refusal = refused(
        "caution_reason_required", assess, session=session, cast=cast, poss="2", when=at(9)
    )
    assert "or defer the dose and reassess later in this window (before 11:30)" in refusal.message


def test_breath_at_the_withhold_threshold_is_withheld_even_when_deferring(cast):
    with_breath_thresholds(cast)
    session = slot(on_prescription(cast, flags=["alcohol"]))
    assessment = assess(session, cast, "3", at(9), defer=True, breath_mcg_per_100ml="30")
    session.refresh_from_db()
    assert (assessment.decision, session.status) == ("withhold", SessionStatus.WITHHELD)
    assert session.outcome_reason == "alcohol"


def test_the_page_defers_and_says_what_happens_next(cast):
    session = slot(on_prescription(cast))
    client = cast.client("nurse")
    with time_machine.travel(at(9), tick=False):
        response = post_form(
            client, session, "assess", identity_confirmed="on", poss="3", decision="defer"
        )
        assert response.status_code == 302
        page = client.get(page_url(session)).content.decode()
    assert "Deferred: reassess later in this window, before 11:30." in page
    assert "the dose is withheld (sedated (poss 3 or 4))" in page
    assert "Pre-dose assessment: reassess" in page


def test_the_api_defers(cast):
    session = slot(on_prescription(cast))
    with time_machine.travel(at(9), tick=False):
        response = cast.client("nurse").post(
            f"/api/v1/dose-sessions/{session.pk}/assess/",
            {"identity_confirmed": True, "poss": "3", "defer": True},
            content_type="application/json",
        )
    assert response.status_code == 200
    assert response.json()["status"] == "deferred"
    assert response.json()["assessment"]["decision"] == "defer"


# 6. The observation not recorded ---------------------------------------------------------


def test_an_observation_not_recorded_in_time_raises_one_alert_and_the_board_marks_it(cast):
    session = give_dose(cast, slot(on_prescription(cast, preferred_name="Jo")), at(9))
    # 20 minutes of observation and 30 of grace: due at 09:50.
    assert observations_overdue_scan(now=at(9, 49)) == 0
    assert observations_overdue_scan(now=at(9, 51)) == 1
    assert observations_overdue_scan(now=at(10, 30)) == 0  # late or twice: still one
    alert = Alert.objects.get(kind=AlertKind.OBSERVATION_OVERDUE)
    assert alert.session == session and alert.is_open
    with time_machine.travel(at(9, 52), tick=False):
        board = cast.client("nurse").get(reverse("board")).content.decode()
        page = cast.client("nurse").get(page_url(session)).content.decode()
    assert 'data-testid="observation-overdue"' in board
    assert "Observation not recorded." in page


def test_the_grace_period_is_the_clinics_policy(cast):
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=None,
        reason="Longer grace",
        effective_from=SET_UP,
        now=SET_UP - dt.timedelta(minutes=1),
        observation_grace_minutes=60,
    )
    give_dose(cast, slot(on_prescription(cast)), at(9))
    assert observations_overdue_scan(now=at(10, 10)) == 0
    assert observations_overdue_scan(now=at(10, 21)) == 1


def test_a_top_up_moves_when_the_observation_is_due(cast):
    session = give_dose(cast, slot(on_prescription(cast, topup_max_mg="10")), at(9))
    inject(cast, session, at(9, 30), drawn="5", topup=True)
    assert observations_overdue_scan(now=at(9, 55)) == 0
    assert observations_overdue_scan(now=at(10, 21)) == 1


@pytest.mark.parametrize("size", [3, 30])
def test_the_overdue_observation_scan_runs_the_same_queries_for_3_and_30(cast, size):
    for n in range(size):
        give_dose(cast, slot(on_prescription(cast, family_name=f"P{n:02d}")), at(9))
    with CaptureQueriesContext(connection) as queries:
        assert observations_overdue_scan(now=at(10)) == size
    assert len(queries) <= 4, [q["sql"][:80] for q in queries]


def test_the_overdue_observation_scan_is_on_the_beat_schedule():
    tasks = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert tasks["dosing.tasks.scan_observations_overdue"] <= 5 * 60


# 8. Re-titration is visible before anyone assesses ---------------------------------------------


@pytest.fixture
def blocked(cast):
    person = on_prescription(cast, preferred_name="Mo")
    service_user_transition(
        service_user=person,
        to_status=Status.RETITRATION_REQUIRED,
        changed_by=None,
        reason="Three sessions not taken",
        now=at(8),
    )
    return person


def test_a_blocked_persons_page_and_board_say_so_before_anyone_assesses(cast, blocked):
    with time_machine.travel(at(9), tick=False):
        page = cast.client("nurse").get(page_url(slot(blocked))).content.decode()
        board = cast.client("nurse").get(reverse("board")).content.decode()
        prescriber_page = cast.client("prescriber").get(page_url(slot(blocked))).content.decode()
    assert 'data-testid="retitration-banner"' in page
    assert "no dose until a prescriber issues a re-titration prescription" in page
    assert 'data-testid="retitration-required"' in board
    assert reverse("prescription-new", args=[blocked.pk]) in prescriber_page


def test_the_api_answers_retitration_required_for_a_blocked_person(cast, blocked):
    with time_machine.travel(at(9), tick=False):
        response = api_administer(cast, slot(blocked))
    assert response.status_code == 400
    assert response.json()["code"] == "retitration_required"


# 11. A withhold is never announced as a green "Assessment recorded." ---------------------


def test_a_withhold_at_assessment_is_a_red_message_not_a_green_one(cast):
    session = slot(on_prescription(cast))
    client = cast.client("nurse")
    with time_machine.travel(at(9), tick=False):
        page = client.post(
            page_url(session),
            {"action": "assess", "assess-identity_confirmed": "on", "assess-poss": "3"},
            follow=True,
        ).content.decode()
    assert "Assessment recorded" not in page
    assert 'alert-danger" role="alert">Dose withheld. POSS 3: too sedated to dose.' in page
    assert "alert-success" not in page


def test_the_board_refuses_a_slot_that_is_not_one_and_shows_the_current(cast):
    on_prescription(cast, preferred_name="Sunny")
    with time_machine.travel(at(9), tick=False):
        page = cast.client("nurse").get(reverse("board"), {"slot": "a\x00b"})
    assert page.status_code == 400
    text = html.unescape(page.content.decode())
    assert "There is no slot 'a\\x00b': showing AM." in text
    assert 'aria-label="Slot" aria-invalid="true"' in text
    assert "Sunny" in text


def test_naloxone_beyond_what_the_record_holds_is_refused_naming_it(cast, dosed_pm):
    refusal = refused(
        "amount_too_large",
        session_observe,
        session=dosed_pm,
        observer=cast.nurse,
        outcome="adverse_event",
        overdose=True,
        naloxone_mg="99999",
        naloxone_at=at(15, 20),
        details="Overdose",
        now=at(15, 30),
    )
    assert refusal.field == "naloxone_mg"


def test_a_correction_that_changes_nothing_is_refused_beside_the_first_field(cast):
    session = give_dose(cast, slot(on_prescription(cast)), at(9))
    client = cast.client("nurse")
    with time_machine.travel(at(9, 30), tick=False):
        data = form_data(
            client.get(page_url(session)).content.decode(), aria_label="Correct the assessment"
        )
        data["amend-assessment-1-reason"] = "Checking"
        response = client.post(page_url(session), data)
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert "Nothing to correct: the values are as recorded." in page
    assert 'data-error-for="amend-assessment-1-poss"' in page


def test_a_dosed_session_shows_the_version_it_was_given_under(cast):
    person = on_prescription(cast)
    session = give_dose(cast, slot(person), at(9))
    new = prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "40", "PM": "40"},
        reason="Reduce",
        valid_from=at(10),
        now=at(9, 30),
    )
    with time_machine.travel(at(12), tick=False):
        api = cast.client("nurse").get(f"/api/v1/dose-sessions/{session.pk}/").json()
        page = cast.client("nurse").get(page_url(session)).content.decode()
        pm = cast.client("nurse").get(f"/api/v1/dose-sessions/{slot(person, 'PM').pk}/").json()
    assert api["prescription"]["dose_mg"] == "60.00"
    assert "Prescribed AM dose: 60 mg" in page
    assert pm["prescription"] == {"id": new.pk, "version": new.version, "dose_mg": "40.00"}


def test_recording_the_observation_closes_its_overdue_alert(cast):
    session = give_dose(cast, slot(on_prescription(cast)), at(9))
    observations_overdue_scan(now=at(9, 55))
    session_observe(session=session, observer=cast.nurse, outcome="no_concerns", now=at(10))
    alert = Alert.objects.get(kind=AlertKind.OBSERVATION_OVERDUE)
    assert not alert.is_open
    assert alert.acknowledgement_note == "Observation recorded at 10:00."


def test_the_board_shows_a_dose_as_corrected(cast):
    from dosing.amendments import session_amend

    session = give_dose(cast, slot(on_prescription(cast, preferred_name="Jo")), at(9))
    session_amend(
        session=session,
        amended_by=cast.nurse,
        record="administration",
        changes={"injected_mg": "55"},
        reason="Mis-keyed",
        witness_username=cast.hca.username,
        witness_password=PASSWORD,
        now=at(9, 10),
    )
    with time_machine.travel(at(9, 15), tick=False):
        board = cast.client("nurse").get(reverse("board")).content.decode()
    assert "55 mg IV 09:00 (corrected)" in board
