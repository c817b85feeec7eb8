"""Take-home suspended by itself (issue 19.4): on a street-heroin-positive tox screen,
a missed collection visit, a re-titration, or a supply reported lost or stolen; each
recorded once as a lapse of the prescription, with an alert to the prescriber, and
refusing the next supply until a new take-home prescription is written."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from alerts.models import Alert
from dosing.models import DoseSession, TakeHomeLapse, TakeHomeLoss
from dosing.take_home import take_home_prescribe
from dosing.take_home_lapses import take_home_lapses_scan, take_home_loss_report
from eligibility.models import Clinic, Status
from eligibility.services import policy_issue, service_user_transition
from monitoring.records import tox_screen_record
from tests.dosing.room_setup import give_dose, register_stock
from tests.dosing.take_home_setup import (
    AT,
    CLEAN,
    MON,
    START,
    STREET,
    SUN,
    THU,
    TUE,
    on_take_home,
    supply,
)
from tests.helpers import refused
from tests.monitoring.scan_setup import london

pytestmark = pytest.mark.django_db


def lapses(person):
    return list(TakeHomeLapse.objects.filter(service_user=person).values_list("cause", "detail"))


def suspended_alerts(person):
    return list(
        Alert.objects.filter(service_user=person, kind="take_home_suspended").values_list(
            "detail", flat=True
        )
    )


@pytest.fixture
def weekend(cast):
    person = on_take_home(cast)
    register_stock(cast, ampoules=20)
    return person


def test_a_street_heroin_marker_suspends_take_home_at_once(cast, weekend):
    tox_screen_record(
        service_user=weekend, recorded_by=cast.nurse, sample_date=THU, results=CLEAN, now=AT
    )
    assert lapses(weekend) == []
    tox_screen_record(
        service_user=weekend,
        recorded_by=cast.nurse,
        sample_date=THU,
        results=STREET,
        now=AT + dt.timedelta(minutes=5),
    )
    said = "Street-heroin marker on the tox screen of 26 Nov 2026."
    assert lapses(weekend) == [("street_heroin", said)]
    assert suspended_alerts(weekend) == [said]
    refusal = refused(
        "take_home_suspended",
        supply,
        cast=cast,
        person=weekend,
        through=SUN,
        now=AT + dt.timedelta(minutes=10),
    )
    assert said in refusal.message and "new take-home prescription" in refusal.message


def test_a_new_prescription_after_the_cause_starts_take_home_again(cast, weekend):
    tox_screen_record(
        service_user=weekend, recorded_by=cast.nurse, sample_date=THU, results=STREET, now=AT
    )
    # The clinic has made clean screens advisory: the prescriber writes why.
    policy_issue(
        clinic=cast.clinic_a,
        issued_by=cast.manager,
        reason="Clean screens advisory",
        effective_from=START,
        now=START - dt.timedelta(days=1),
        take_home_levels={"clean_tox": "advisory"},
    )
    later = AT + dt.timedelta(minutes=30)
    take_home_prescribe(
        service_user=weekend,
        prescriber=cast.prescriber,
        route="iv",
        dose_mg="60",
        slot_codes=["PM"],
        weekdays=["sat", "sun"],
        valid_from=THU,
        valid_to=THU + dt.timedelta(days=13),
        reason="Reviewed after the positive screen",
        criteria_reason="One positive in thirteen weeks; discussed and agreed",
        now=later,
    )
    assert supply(cast, weekend, SUN, now=later + dt.timedelta(minutes=1)).units == 2


def test_a_re_titration_suspends_take_home_and_the_scan_alerts_once(cast, weekend):
    for status, hours in (
        (Status.RETITRATION_REQUIRED, 1),
        (Status.RETITRATION, 2),
        (Status.MAINTENANCE, 3),
    ):
        service_user_transition(
            service_user=weekend,
            to_status=status,
            changed_by=cast.prescriber,
            reason="Three sessions missed",
            now=AT + dt.timedelta(minutes=hours),
        )
    # Refused at once, whenever the scan last ran.
    refused(
        "take_home_suspended",
        supply,
        cast=cast,
        person=weekend,
        through=SUN,
        now=AT + dt.timedelta(hours=1),
    )
    assert take_home_lapses_scan(now=AT + dt.timedelta(hours=1)) == 1
    assert take_home_lapses_scan(now=AT + dt.timedelta(hours=2)) == 0
    assert lapses(weekend) == [("retitration", "Re-titration required.")]
    assert suspended_alerts(weekend) == ["Re-titration required."]


def test_a_missed_collection_visit_suspends_take_home(cast, weekend):
    supply(cast, weekend, SUN)  # due back on Monday, and not seen
    take_home_lapses_scan(now=london(MON, 23))
    assert lapses(weekend) == [], "Monday is not over"
    take_home_lapses_scan(now=london(TUE, 9))
    assert lapses(weekend) == [
        ("missed_collection", "Not seen on 30 Nov 2026, the day the next supply was due.")
    ]
    assert len(suspended_alerts(weekend)) == 1


def test_the_collection_day_is_over_when_the_clinics_own_day_is(cast, weekend):
    """A clinic ahead of UTC: its Tuesday morning is still Monday in UTC, and the visit
    missed on its Monday is a lapse then, not hours later."""
    supply(cast, weekend, SUN)
    Clinic.objects.filter(pk=cast.clinic_a.pk).update(time_zone="Pacific/Auckland")
    auckland = ZoneInfo("Pacific/Auckland")
    take_home_lapses_scan(now=dt.datetime.combine(MON, dt.time(23), tzinfo=auckland))
    assert lapses(weekend) == [], "Monday is not over in Auckland"
    tuesday = dt.datetime.combine(TUE, dt.time(9), tzinfo=auckland)
    assert tuesday.astimezone(dt.UTC).date() == MON
    take_home_lapses_scan(now=tuesday)
    assert [cause for cause, _ in lapses(weekend)] == ["missed_collection"]


def test_coming_on_the_collection_day_keeps_take_home(cast, weekend):
    from dosing.sessions import dose_sessions_generate

    supply(cast, weekend, SUN)
    dose_sessions_generate(clinic=cast.clinic_a, days=[MON], now=AT)
    monday = DoseSession.objects.get(service_user=weekend, clinic_day=MON, slot_code="AM")
    give_dose(cast, monday, london(MON, 9))
    take_home_lapses_scan(now=london(TUE, 9))
    assert lapses(weekend) == []


def test_a_lost_supply_is_recorded_and_suspends_take_home(cast, weekend):
    given = supply(cast, weekend, SUN)
    report = {
        "supply": given,
        "kind": "stolen",
        "doses": 2,
        "happened_on": THU,
        "description": "Bag taken on the bus; reported to the police, crime number 123",
        "reported_by": cast.nurse,
        "now": AT + dt.timedelta(hours=3),
    }
    refused("loss_doses", take_home_loss_report, **{**report, "doses": 3})
    refused("reason_required", take_home_loss_report, **{**report, "description": " "})
    refused("loss_kind", take_home_loss_report, **{**report, "kind": "mislaid"})
    loss = take_home_loss_report(**report)
    assert TakeHomeLoss.objects.get() == loss
    assert lapses(weekend) == [("lost_or_stolen", "2 take-home doses reported stolen.")]
    assert suspended_alerts(weekend) == ["2 take-home doses reported stolen."]


def test_a_nurse_reports_a_loss_on_the_page_or_the_api(cast, weekend):
    import time_machine
    from django.urls import reverse

    given = supply(cast, weekend, SUN)
    url = reverse("take-home-loss-new", args=[given.pk])
    api = f"/api/v1/take-home/supplies/{given.pk}/report-loss/"
    body = {"kind": "lost", "doses": 1, "happened_on": str(THU), "description": "Dropped it"}
    with time_machine.travel(AT + dt.timedelta(hours=2), tick=False):
        for who, status in (("hca", 403), ("prescriber", 403), ("manager", 403), ("nurse_b", 404)):
            assert cast.client(who).get(url).status_code == status, who
            answer = cast.client(who).post(api, body, content_type="application/json")
            assert answer.status_code == status, who
        client = cast.client("nurse")
        refusal = client.post(url, {**body, "doses": "3"})
        assert refusal.status_code == 400
        assert "The supply held 2 doses" in " ".join(refusal.context["form"].errors["doses"])
        assert refusal.context["form"]["description"].value() == "Dropped it"
        done = client.post(url, body, follow=True)
        text = done.content.decode()
        assert "Take-home is suspended and the prescriber is alerted." in text
        assert "Take-home is suspended: 1 take-home dose reported lost." in text
        again = client.post(api, {**body, "kind": "stolen"}, content_type="application/json")
        assert again.status_code == 200
    # The second is recorded; take-home was suspended already.
    assert TakeHomeLoss.objects.count() == 2
    assert len(suspended_alerts(weekend)) == 1
