"""The record page in Chromium (issue 18.6), reached by "Correct the record" from a
service user's page. A nurse corrects the given name after a refusal for want of a
reason that keeps the name typed; takes a photo from a PNG file, which the person's
page then shows, and is refused an SVG beside the file input; and adds the alcohol
flag after a refusal for want of a reason that keeps the flag chosen, which the
person's page then lists. An HCA has no link to the page. The same through Django's
test client is in tests/eligibility/test_record.py."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from eligibility.models import ServiceUser
from tests.browser.navigation import log_in, nav_click
from tests.browser.page_parts import error_beside, told

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
    '<script>alert("hello")</script><rect width="40" height="40" fill="teal"/></svg>'
)


def _open_person(page, person):
    nav_click(page, "Service users")
    page.get_by_role("link", name=person.display_name).click()
    expect(page.get_by_role("heading", name=person.display_name, exact=True)).to_be_visible()


def _open_record(page, person):
    _open_person(page, person)
    page.get_by_role("link", name="Correct the record").click()
    expect(
        page.get_by_role("heading", name=f"Correct the record: {person.display_name}")
    ).to_be_visible()


def _form(page, heading: str):
    """One of the page's three forms, named by its heading."""
    return page.get_by_role("form", name=heading, exact=True)


def _risk_flags(page):
    """What the person's page lists as their risk flags."""
    return page.locator("dt:text-is('Risk flags') + dd")


def _png(path) -> str:
    picture = path / "face.png"
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "teal").save(buffer, format="PNG")
    picture.write_bytes(buffer.getvalue())
    return str(picture)


def test_a_nurse_corrects_the_given_name_only_with_a_reason(
    page, live_server, cast, service_user_a
):
    person = service_user_a
    log_in(page, live_server, cast.nurse.username)
    _open_record(page, person)
    identity = _form(page, "Identity")
    expect(identity.get_by_label("Given name", exact=True)).to_have_value("Alice")
    expect(identity.get_by_label("Family name", exact=True)).to_have_value("Anders")
    expect(identity.get_by_label("Date of birth", exact=True)).to_have_value("1980-01-01")

    identity.get_by_label("Given name", exact=True).fill("Alicia")
    identity.get_by_role("button", name="Save the correction").click()

    expect(error_beside(page, "identity-reason")).to_be_visible()
    identity = _form(page, "Identity")
    expect(identity.get_by_label("Reason", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(identity.get_by_label("Given name", exact=True)).to_have_value("Alicia")
    expect(identity.get_by_label("Family name", exact=True)).to_have_value("Anders")
    expect(identity.get_by_label("Preferred name", exact=True)).to_have_value("Ali")
    # Only the form sent is refused.
    expect(page.locator("[data-error-for]")).to_have_count(1)
    assert ServiceUser.objects.get(pk=person.pk).given_name == "Alice"

    identity.get_by_label("Reason", exact=True).fill("Name misspelt at referral; passport seen")
    identity.get_by_role("button", name="Save the correction").click()

    expect(told(page, "Ali's record is corrected.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/service-users/{person.pk}/$"))
    expect(page.get_by_text("Alicia Anders · born 1 Jan 1980")).to_be_visible()
    person.refresh_from_db()
    assert person.given_name == "Alicia"
    latest = person.history.order_by("-history_id").first()
    assert latest.history_user == cast.nurse
    assert latest.history_change_reason == (
        "Corrected given name: Name misspelt at referral; passport seen"
    )


def test_a_nurse_takes_a_photo_from_a_png_and_is_refused_an_svg(
    page, live_server, cast, service_user_a, tmp_path
):
    person = service_user_a
    log_in(page, live_server, cast.nurse.username)
    _open_person(page, person)
    expect(page.get_by_role("img", name="Photo of Ali")).to_have_count(0)
    page.get_by_role("link", name="Correct the record").click()
    expect(page.get_by_text("No photo yet.")).to_be_visible()
    photo = _form(page, "Photo")

    photo.get_by_label("Photo", exact=True).set_input_files(_png(tmp_path))
    photo.get_by_role("button", name="Save the photo").click()

    expect(told(page, "Ali's photo is saved.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/service-users/{person.pk}/$"))
    shown = page.get_by_role("img", name="Photo of Ali", exact=True)
    expect(shown).to_be_visible()
    # The picture itself arrives, not only its tag.
    expect(shown).to_have_js_property("complete", True)
    assert shown.evaluate("img => img.naturalWidth") == 640
    person.refresh_from_db()
    first = person.photo.name
    assert first.endswith(".jpg")

    page.get_by_role("link", name="Correct the record").click()
    expect(page.get_by_role("img", name="Photo of Ali now")).to_be_visible()
    photo = _form(page, "Photo")
    svg = tmp_path / "face.svg"
    svg.write_text(SVG)
    photo.get_by_label("Photo", exact=True).set_input_files(str(svg))
    photo.get_by_role("button", name="Save the photo").click()

    expect(error_beside(page, "photo-photo")).to_contain_text("not a photo this system can read")
    expect(_form(page, "Photo").get_by_label("Photo", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(told(page, "photo is saved")).to_have_count(0)
    # The photo taken before stands.
    expect(page.get_by_role("img", name="Photo of Ali now")).to_be_visible()
    person.refresh_from_db()
    assert person.photo.name == first


def test_a_nurse_adds_the_alcohol_flag_only_with_a_reason(page, live_server, cast, service_user_a):
    person = service_user_a
    log_in(page, live_server, cast.nurse.username)
    _open_person(page, person)
    expect(_risk_flags(page)).to_have_text("None")
    page.get_by_role("link", name="Correct the record").click()
    flags = _form(page, "Risk flags")
    expect(flags.get_by_role("radio", name="Add the flag")).to_be_checked()

    flags.get_by_label("Risk flag", exact=True).select_option(label="Alcohol")
    flags.get_by_role("button", name="Save the flag").click()

    expect(error_beside(page, "flag-reason")).to_be_visible()
    flags = _form(page, "Risk flags")
    expect(flags.get_by_label("Reason", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(flags.get_by_label("Risk flag", exact=True)).to_have_value("alcohol")
    expect(flags.get_by_role("radio", name="Add the flag")).to_be_checked()
    assert not ServiceUser.objects.get(pk=person.pk).flag_alcohol

    flags.get_by_label("Reason", exact=True).fill("Smelt of alcohol at two sessions this week")
    flags.get_by_role("button", name="Save the flag").click()

    expect(told(page, "Alcohol: flag added.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/service-users/{person.pk}/$"))
    expect(_risk_flags(page).locator(".badge")).to_have_text(["alcohol"])
    person.refresh_from_db()
    assert person.flag_alcohol
    assert person.history.order_by("-history_id").first().history_change_reason == (
        "Flagged: Alcohol: Smelt of alcohol at two sessions this week"
    )


def test_an_hca_has_no_link_to_correct_the_record(page, live_server, cast, service_user_a):
    log_in(page, live_server, cast.hca.username)
    _open_person(page, service_user_a)

    expect(page.get_by_role("link", name="Timeline")).to_be_visible()
    expect(page.get_by_role("link", name="Correct the record")).to_have_count(0)
    answer = page.goto(f"{live_server.url}/service-users/{service_user_a.pk}/record/")
    assert answer.status == 403
    expect(page.get_by_role("button", name="Save the correction")).to_have_count(0)
