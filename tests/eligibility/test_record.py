"""The service user's record during treatment (issue 18.6): corrections of identity
with a reason kept in the history; risk flags added and removed by a nurse or
prescriber (the alcohol flag starts breath testing at the next session); the photo,
images only, re-encoded by Pillow with a size cap, never SVG, served with no-store.
On the record page and through service-users/{id}/correct/, photo/ and flags/."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from dosing.assessment import session_assess
from eligibility.models import ServiceUser, Status
from eligibility.record import PHOTO_MAX_SIDE
from tests.conftest import EVERYONE
from tests.dosing.room_setup import with_breath_thresholds
from tests.factories import make_service_user
from tests.helpers import refused
from tests.monitoring.scan_setup import london, people_on_prescription, schedule, session_of

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 3)


def png(width=2400, height=1600, colour="teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def page_of(person):
    return reverse("service-user-record", args=[person.pk])


IDENTITY = {
    "identity-given_name": "Alicia",
    "identity-family_name": "Anders",
    "identity-preferred_name": "Ali",
    "identity-date_of_birth": "1980-05-01",
    "identity-reason": "Name misspelt at referral; passport seen",
    "which": "identity",
}


def test_a_nurse_corrects_a_name_and_the_history_keeps_both(cast, service_user_a):
    nhs = service_user_a.nhs_number
    answer = cast.client("nurse").post(
        page_of(service_user_a), {**IDENTITY, "identity-nhs_number": nhs}
    )
    assert answer.status_code == 302
    service_user_a.refresh_from_db()
    assert service_user_a.given_name == "Alicia"
    latest, earlier = service_user_a.history.order_by("-history_id")[:2]
    assert (earlier.given_name, latest.given_name) == ("Alice", "Alicia")
    assert latest.history_user == cast.nurse
    assert latest.history_change_reason.startswith("Corrected given name, date of birth")


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"identity-reason": ""}, "reason", "This field is required"),
        ({"identity-nhs_number": "123"}, "nhs_number", "NHS number"),
        ({"identity-date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
        ({"identity-given_name": ""}, "given_name", "This field is required"),
    ],
)
def test_each_refused_correction_stands_by_its_field_and_keeps_what_was_typed(
    cast, service_user_a, change, field, says
):
    body = {**IDENTITY, "identity-nhs_number": service_user_a.nhs_number, **change}
    answer = cast.client("nurse").post(page_of(service_user_a), body)
    assert answer.status_code == 400
    errors = answer.context["forms"]["identity"].errors
    assert says.lower() in " ".join(errors[field]).lower(), errors
    if field != "given_name":
        assert 'value="Alicia"' in answer.content.decode()
    service_user_a.refresh_from_db()
    assert service_user_a.given_name == "Alice", "nothing written"


def test_an_nhs_number_of_another_person_here_is_refused(cast, service_user_a):
    other = make_service_user(cast.clinic_a)
    body = {**IDENTITY, "identity-nhs_number": other.nhs_number}
    answer = cast.client("nurse").post(page_of(service_user_a), body)
    assert answer.status_code == 400
    assert "has that NHS number" in " ".join(
        answer.context["forms"]["identity"].errors["nhs_number"]
    )


def test_a_correction_that_changes_nothing_is_refused(cast, service_user_a):
    from eligibility.record import identity_correct

    refused(
        "nothing_changed",
        identity_correct,
        service_user=service_user_a,
        by=cast.nurse,
        reason="Check",
        given_name="Alice",
    )


def test_the_alcohol_flag_starts_breath_testing_at_the_next_session(cast):
    with_breath_thresholds(cast)
    person = people_on_prescription(cast, 1)[0]
    schedule(cast, DAY)
    client = cast.client("nurse")
    added = client.post(
        page_of(person),
        {"which": "flag", "flag-flag": "alcohol", "flag-change": "add", "flag-reason": "Smelt"},
    )
    assert added.status_code == 302
    person.refresh_from_db()
    assert person.flag_alcohol
    assert person.history.latest("history_id").history_change_reason == ("Flagged: Alcohol: Smelt")
    refusal = refused(
        "breath_required",
        session_assess,
        session=session_of(person, DAY, "AM"),
        nurse=cast.nurse,
        identity_confirmed=True,
        poss="1",
        now=london(DAY, 9),
    )
    assert refusal.field
    again = client.post(
        page_of(person),
        {"which": "flag", "flag-flag": "alcohol", "flag-change": "add", "flag-reason": "x"},
    )
    assert again.status_code == 400 and "already flagged" in again.content.decode()


@pytest.mark.parametrize("who", ["hca", "manager"])
def test_only_a_nurse_or_prescriber_changes_flags(cast, service_user_a, who):
    body = {"which": "flag", "flag-flag": "alcohol", "flag-change": "add", "flag-reason": "x"}
    answer = cast.client(who).post(page_of(service_user_a), body)
    assert answer.status_code in (400, 403)
    service_user_a.refresh_from_db()
    assert not service_user_a.flag_alcohol


def test_a_photo_is_shrunk_re_encoded_as_jpeg_and_served_with_no_store(cast, service_user_a):
    upload = SimpleUploadedFile("face.png", png(), content_type="image/png")
    client = cast.client("nurse")
    answer = client.post(page_of(service_user_a), {"which": "photo", "photo-photo": upload})
    assert answer.status_code == 302
    service_user_a.refresh_from_db()
    with Image.open(service_user_a.photo.open("rb")) as kept:
        assert kept.format == "JPEG" and max(kept.size) == PHOTO_MAX_SIDE
    served = client.get(reverse("service-user-photo", args=[service_user_a.pk]))
    assert served.status_code == 200 and "no-store" in served["Cache-Control"]
    assert (
        cast.client("nurse_b")
        .get(reverse("service-user-photo", args=[service_user_a.pk]))
        .status_code
        == 404
    )
    session_page = client.get(reverse("service-user-detail", args=[service_user_a.pk]))
    assert "Photo of Ali" in session_page.content.decode()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("face.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("face.png", b"not an image at all"),
        ("face.gif", b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00"),
    ],
)
def test_anything_but_a_photo_is_refused_by_the_field(cast, service_user_a, name, content):
    upload = SimpleUploadedFile(name, content)
    answer = cast.client("nurse").post(
        page_of(service_user_a), {"which": "photo", "photo-photo": upload}
    )
    assert answer.status_code == 400
    assert "not a photo this system can read" in answer.content.decode()
    service_user_a.refresh_from_db()
    assert not service_user_a.photo


def test_a_photo_over_the_cap_is_refused(cast, service_user_a, settings):
    from eligibility import record

    big = SimpleUploadedFile("big.png", b"x" * (record.PHOTO_MAX_BYTES + 1))
    answer = cast.client("nurse").post(
        page_of(service_user_a), {"which": "photo", "photo-photo": big}
    )
    assert answer.status_code == 400 and "too large" in answer.content.decode()


@pytest.mark.parametrize("who", EVERYONE)
def test_the_record_page_by_role(cast, service_user_a, who):
    answer = cast.client(who).get(page_of(service_user_a))
    expected = {"nurse": 200, "prescriber": 200, "manager": 200, "hca": 403, "nurse_b": 404}
    assert answer.status_code == expected.get(who, 302)


def test_the_api_corrects_flags_and_takes_a_photo(cast, service_user_a):
    client = cast.client("prescriber")
    base = f"/api/v1/service-users/{service_user_a.pk}"
    corrected = client.post(
        f"{base}/correct/",
        {"preferred_name": "Al", "reason": "Asked to be called Al"},
        content_type="application/json",
    )
    assert corrected.status_code == 200 and corrected.json()["preferred_name"] == "Al"
    no_reason = client.post(
        f"{base}/correct/", {"preferred_name": "A"}, content_type="application/json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    flagged = client.post(
        f"{base}/flags/",
        {"flag": "stimulants", "on": True, "reason": "Crack use disclosed"},
        content_type="application/json",
    )
    assert flagged.status_code == 200 and "stimulants" in flagged.json()["flags"]
    photo = client.post(f"{base}/photo/", {"photo": SimpleUploadedFile("f.png", png(300, 300))})
    assert photo.status_code == 200, photo.json()
    svg = client.post(f"{base}/photo/", {"photo": SimpleUploadedFile("f.svg", b"<svg></svg>")})
    assert svg.status_code == 400 and svg.json()["code"] == "photo_invalid"
    assert (
        cast.client("hca")
        .post(
            f"{base}/flags/",
            {"flag": "alcohol", "on": True, "reason": "x"},
            content_type="application/json",
        )
        .status_code
        == 403
    )
    assert ServiceUser.objects.get(pk=service_user_a.pk).status == Status.MAINTENANCE
