"""No existence oracle at referral (issue 16.4).

A referral at clinic B with an NHS number on the pathway at clinic A is recorded, like
any other: whoever recorded it is told nothing about A. Both clinics' prescribers and
managers get an urgent "possible duplicate registration" alert on their own record, so
nobody prescribes twice; no other role sees it, on any page or in the API. And an API
filter on another clinic's record answers as an unknown id does.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from alerts.models import Alert, AlertKind, Severity
from core.roles import Role
from eligibility.models import Referral, ServiceUser, Status
from tests.factories import make_service_user, make_staff

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
KIND = AlertKind.DUPLICATE_REGISTRATION

PERSON = {
    "nhs_number": "999 000 0018",
    "given_name": "Jo",
    "family_name": "Twice",
    "date_of_birth": "1985-04-01",
}
REFERRAL = {
    "referred_by": "Harbour drug service",
    "referral_date": "2026-03-02",
    "substance_use_history": "Heroin",
    "treatment_history": "Methadone twice",
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def at_a(cast):
    return make_service_user(
        cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber, nhs_number="9990000018"
    )


@pytest.fixture
def prescriber_b(cast):
    return make_staff(cast.clinic_b, Role.PRESCRIBER, username="prescriber_b")


def refer_on_the_page(cast, person=PERSON):
    client = cast.client("nurse_b")
    return client.post(reverse("referral-new"), {**person, **REFERRAL}, follow=True)


def test_a_referral_of_someone_in_treatment_elsewhere_is_recorded_and_says_nothing_of_it(
    cast, at_a
):
    page = refer_on_the_page(cast).content.decode()
    fresh = refer_on_the_page(
        cast, {**PERSON, "nhs_number": "999 000 0026", "given_name": "Sam"}
    ).content.decode()
    assert "Referral of Jo Twice recorded." in page and "Referral of Sam Twice recorded." in fresh
    for text in (page, fresh):
        assert "Clinic A" not in text and "already" not in text and "duplicate" not in text.lower()
    at_b = ServiceUser.objects.get(clinic=cast.clinic_b, nhs_number="9990000018")
    assert Referral.objects.filter(service_user=at_b).exists()
    alerts = {(a.clinic, a.service_user): a for a in Alert.objects.filter(kind=KIND)}
    assert set(alerts) == {(cast.clinic_a, at_a), (cast.clinic_b, at_b)}
    assert all(a.severity == Severity.URGENT for a in alerts.values())
    assert "pathway at Clinic B (referred)" in alerts[cast.clinic_a, at_a].detail
    assert "pathway at Clinic A (maintenance)" in alerts[cast.clinic_b, at_b].detail


def test_the_api_records_it_the_same_way(cast, at_a):
    response = cast.client("nurse_b").post(
        "/api/v1/referrals/",
        {"person": {**PERSON, "nhs_number": "9990000018"}, **REFERRAL},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert "Clinic A" not in response.content.decode()
    assert Alert.objects.filter(kind=KIND).count() == 2


def test_someone_who_left_the_other_clinic_raises_no_alert(cast, at_a):
    at_a.status = Status.EXITED
    at_a.save()
    refer_on_the_page(cast)
    assert not Alert.objects.filter(kind=KIND).exists()


def test_a_second_referral_at_the_same_clinic_is_still_refused_there(cast, at_a):
    client = cast.client("nurse")
    response = client.post(reverse("referral-new"), {**PERSON, **REFERRAL})
    assert response.status_code == 400
    assert "already registered at this clinic" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "sees"),
    [("prescriber", True), ("manager", True), ("nurse", False), ("hca", False)],
)
def test_only_prescribers_and_managers_see_the_alert_anywhere(cast, at_a, who, sees):
    refer_on_the_page(cast)
    client = cast.client(who)
    alert = Alert.objects.get(kind=KIND, clinic=cast.clinic_a)
    views = {
        "inbox": client.get(reverse("alert-inbox")).content.decode(),
        "service user page": client.get(
            reverse("service-user-detail", args=[at_a.pk])
        ).content.decode(),
        "timeline": client.get(reverse("service-user-timeline", args=[at_a.pk])).content.decode(),
        "api list": client.get("/api/v1/alerts/").content.decode(),
    }
    for name, text in views.items():
        assert ("Possible duplicate registration" in text or KIND in text) == sees, name
    detail = client.get(f"/api/v1/alerts/{alert.pk}/")
    assert detail.status_code == (200 if sees else 404)
    badge = client.get(reverse("home")).context["open_alert_count"]
    assert badge == Alert.objects.filter(clinic=cast.clinic_a, acknowledged_at=None).count() - (
        0 if sees else 1
    )


def test_the_referring_nurse_at_b_never_sees_it_and_bs_prescriber_does(cast, at_a, prescriber_b):
    refer_on_the_page(cast)
    nurse_b = cast.client("nurse_b").get(reverse("alert-inbox")).content.decode()
    assert "Possible duplicate registration" not in nurse_b and "Clinic A" not in nurse_b
    prescriber = cast.client(None)
    prescriber.force_login(prescriber_b)
    inbox = prescriber.get(reverse("alert-inbox")).content.decode()
    assert "Possible duplicate registration" in inbox and "Clinic A" in inbox


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/dose-sessions/?service_user={id}",
        "/api/v1/alerts/?service_user={id}",
        "/api/v1/tox-screens/?service_user={id}",
        "/api/v1/referrals/?service_user={id}",
        "/api/v1/prescriptions/?service_user={id}",
    ],
)
def test_a_filter_on_another_clinics_record_answers_as_an_unknown_id_does(cast, at_a, path):
    client = cast.client("nurse_b")
    other = client.get(path.format(id=at_a.pk))
    unknown = client.get(path.format(id=10**6))
    assert other.status_code == unknown.status_code == 400
    # The same refusal, but for the id echoed back.
    assert str(other.json()).replace(str(at_a.pk), "ID") == str(unknown.json()).replace(
        str(10**6), "ID"
    )
    own = cast.client("nurse").get(path.format(id=at_a.pk))
    assert own.status_code == 200
