"""A clinic from nothing to its first dose, all in Chromium (issues 18.1 to 18.7).

An installation administrator opens a clinic with a new first manager, who logs in and
sets up an authenticator; the manager invites a nurse, an HCA and a prescriber, each
of whom sets a password through their one-time link on their own device and sets up
an authenticator at first login; the manager gives the policy breath thresholds, adds
a pharmacy and opens the register section that supplies the doses; the nurse receives
stock into it and records a referral of someone flagged for alcohol; the prescriber
assesses, accepts and admits them (the HCA witnessing the agreement), prescribes the
first titration dose and adds a session for today, the admission day having none;
and the nurse gives that dose in the dosing room after a breath test, the HCA
witnessing, which the register then shows as a supply. The clock runs from 10:00 on
a Tuesday, the clinic's first day, and never jumps: all of it happens that morning.
Each step is a helper named for it; the steps one at a time, with their refusals, are
in the other browser tests."""

import datetime as dt
import re
from base64 import b32decode
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django_otp.oath import totp
from playwright.sync_api import expect

from core.roles import Role, sync_role_permissions
from dosing.models import DoseSession, EntryKind, RegisterEntry, SessionStatus
from eligibility.models import ServiceUser, Status
from tests.browser.navigation import log_in, log_in_here, nav_click
from tests.browser.page_parts import field, told
from tests.factories import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")
# A Tuesday morning, in the AM window (08:00-11:30 under the standard policy).
DAY = dt.date(2026, 3, 3)
TEN = dt.datetime.combine(DAY, dt.time(10, 0), tzinfo=LONDON)

CLINIC = "Harbour Clinic"
SECTION = "Diamorphine hydrochloride 100 mg ampoule"


@dataclass(frozen=True)
class Person:
    """A member of staff as the test knows them: who they are and what they type."""

    username: str
    first: str
    last: str
    password: str
    role: Role | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


MANAGER = Person("harbour_manager", "Hana", "Ruiz", "kestrel-harbour-lantern")
NURSE = Person("nia_okafor", "Nia", "Okafor", "osprey-meadow-candle", Role.NURSE)
HCA = Person("hal_ito", "Hal", "Ito", "heron-quarry-violin", Role.HCA)
PRESCRIBER = Person("priya_shah", "Priya", "Shah", "plover-garden-anchor", Role.PRESCRIBER)

# The person referred: known by their preferred name.
GIVEN, FAMILY, PREFERRED = "Robin", "Marsh", "Rob"


@pytest.fixture
def clock():
    with time_machine.travel(TEN, tick=True) as traveller:
        yield traveller


@pytest.fixture
def installer(transactional_db):
    """The installation's administrator, the only account there is. A browser test
    ends by emptying every table, the role groups among them: they are made again."""
    if not Group.objects.exists():
        sync_role_permissions()
    return make_staff(None, Role.INSTALLATION_ADMIN, username="installer")


@pytest.fixture
def device(browser):
    """Another device: a new browser context, closed when the test ends."""
    contexts = []

    def new_page():
        context = browser.new_context(viewport={"width": 1024, "height": 768})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield new_page
    for context in contexts:
        context.close()


def _open_person(page):
    nav_click(page, "Service users")
    page.get_by_role("link", name=PREFERRED, exact=True).click()
    expect(page.get_by_role("heading", name=PREFERRED, exact=True)).to_be_visible()


# The steps ---------------------------------------------------------------------------------


def open_the_clinic(page, live_server):
    """The installation administrator opens the clinic with its first manager."""
    log_in(page, live_server, "installer")
    nav_click(page, "Clinics")
    typed = {
        "Clinic name": CLINIC,
        "Address": "12 Quay St\nWhitby",
        "First manager's username": MANAGER.username,
        "First name": MANAGER.first,
        "Last name": MANAGER.last,
        "E-mail": "hana.ruiz@example.org",
        "Places": "15",
        "First password": MANAGER.password,
    }
    for label, value in typed.items():
        field(page, label).fill(value)
    field(page, "Time zone").select_option("Europe/London")
    page.get_by_role("button", name="Open the clinic").click()
    expect(told(page, f"{CLINIC} is open")).to_contain_text(f"{MANAGER.name} is its manager")
    nav_click(page, "Log out")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()


def set_up_the_authenticator(page, person):
    """The first login: the password, then an authenticator set up from the key shown."""
    log_in_here(page, person.username, person.password)
    expect(page).to_have_url(re.compile(r"/two-factor/setup/"))
    expect(page.get_by_role("heading", name="Set up two-step login")).to_be_visible()
    key = page.get_by_test_id("setup-key").inner_text().replace(" ", "")
    page.get_by_label("Code").fill(f"{totp(b32decode(key)):06d}")
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_text("Two-step login is set up.")).to_be_visible()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name=re.compile("I have kept them")).click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Service users")


def the_manager_logs_in(page, live_server):
    page.goto(f"{live_server.url}/login/")
    set_up_the_authenticator(page, MANAGER)
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Staff")


def invite(page, person) -> str:
    """The manager adds a new member of staff with their role; the one-time link."""
    nav_click(page, "Staff")
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    field(page, "Username").fill(person.username)
    field(page, "First name").fill(person.first)
    field(page, "Last name").fill(person.last)
    field(page, person.role.value).check()
    page.get_by_role("button", name="Add to the staff").click()
    expect(page.get_by_role("heading", name=f"{person.name} is invited")).to_be_visible()
    link = page.get_by_test_id("staff-link").input_value()
    page.get_by_role("link", name="Back to the staff").click()
    row = page.get_by_test_id(f"staff-{person.username}")
    expect(row).to_contain_text(person.role.value)
    expect(row).to_contain_text("Not set up")
    return link


def joins_through_the_link(page, person, link):
    """On their own device, not logged in: a password, then the authenticator."""
    page.goto(link)
    expect(page.get_by_role("heading", name=f"Welcome to {CLINIC}")).to_be_visible()
    field(page, "New password").fill(person.password)
    field(page, "The same again").fill(person.password)
    page.get_by_role("button", name="Set my password").click()
    expect(told(page, f"Your password is set, {person.first}.")).to_be_visible()
    set_up_the_authenticator(page, person)


def give_the_policy_breath_thresholds(page):
    """A new version with the breath thresholds, from the minute the form offers: now.
    It is in force at once."""
    nav_click(page, "Clinic policy")
    page.get_by_role("link", name="Change the policy").click()
    expect(page.get_by_role("heading", name=f"Change the clinic policy: {CLINIC}")).to_be_visible()
    offered = field(page, "From").input_value()
    assert offered.startswith(f"{DAY:%Y-%m-%d}T10:"), offered
    field(page, "Reason").fill("Breath testing for people flagged for alcohol")
    field(page, "Breath alcohol: caution at (µg/100 ml)").fill("10")
    field(page, "Breath alcohol: withhold at (µg/100 ml)").fill("20")
    page.get_by_role("button", name="Save the new version").click()
    expect(told(page, f"The new policy applies from {DAY:%d %b %Y} 10:")).to_be_visible()
    in_force = page.locator(".card").filter(has=page.get_by_test_id("in-force"))
    expect(in_force).to_contain_text("10.0 / 20.0 µg/100 ml")
    expect(page.get_by_test_id("next")).to_have_count(0)


def add_a_pharmacy(page):
    nav_click(page, "Clinic policy")
    page.get_by_role("link", name="Pharmacies", exact=True).click()
    field(page, "Name").fill("Quay Pharmacy")
    field(page, "Address").fill("3 Quay St, Whitby")
    field(page, "Phone").fill("01947 555 0101")
    page.get_by_role("button", name="Add the pharmacy").click()
    expect(told(page, "Quay Pharmacy added.")).to_be_visible()
    expect(
        page.get_by_test_id("pharmacies").get_by_role("row").filter(has_text="Quay")
    ).to_contain_text("3 Quay St, Whitby")


def open_the_dose_supply_section(page):
    nav_click(page, "CD register")
    expect(page.get_by_role("heading", name="Open a section")).to_be_visible()
    field(page, "Strength (mg per ampoule)").fill("100")
    field(page, "Supplies the doses given in the dosing room").check()
    page.get_by_role("button", name="Open the section").click()
    expect(told(page, f"The register has a section for {SECTION}.")).to_be_visible()


def receive_stock(nurse):
    nav_click(nurse, "CD register")
    nurse.get_by_role("link", name=SECTION).click()
    expect(nurse.get_by_test_id("balance")).to_have_text("Balance 0 ampoules (0 mg)")
    nurse.get_by_role("link", name="Record a receipt").click()
    field(nurse, "Ampoules").fill("10")
    field(nurse, "Supplier name").fill("Wholesale Pharma Ltd")
    field(nurse, "Supplier address").fill("1 Depot Road, Leeds")
    field(nurse, "Batch").fill("DM-2211")
    field(nurse, "Expiry").fill("2027-09-30")
    nurse.get_by_role("button", name="Record a receipt").click()
    expect(nurse.get_by_test_id("balance")).to_have_text("Balance 10 ampoules (1000 mg)")


def refer(nurse):
    nav_click(nurse, "Referrals")
    nurse.get_by_role("link", name="New referral").click()
    typed = {
        "NHS number": "999 000 0018",
        "Given name": GIVEN,
        "Family name": FAMILY,
        "Preferred name": PREFERRED,
        "Date of birth": "1984-02-29",
        "Referred by": "Dr Lee, Whitby drug service",
        "Substance use history": "Injecting heroin for 15 years",
        "Earlier treatment attempts": "Methadone three times, buprenorphine once",
    }
    for label, value in typed.items():
        field(nurse, label).fill(value)
    field(nurse, "Alcohol").check()
    nurse.get_by_role("button", name="Record referral").click()
    expect(told(nurse, f"Referral of {PREFERRED} recorded.")).to_be_visible()


def assess_accept_and_admit(prescriber):
    """Every criterion met, accepted, and admitted with the HCA witnessing the agreement."""
    nav_click(prescriber, "Referrals")
    prescriber.get_by_role("link", name=PREFERRED, exact=True).click()
    expect(prescriber.get_by_role("heading", name="Eligibility assessment")).to_be_visible()
    for group in prescriber.locator("form fieldset").all():
        group.get_by_label("Met", exact=True).check()
        group.get_by_role("textbox").fill("Seen at assessment")
    prescriber.get_by_role("button", name="Record assessment").click()
    expect(told(prescriber, "Eligibility assessment recorded.")).to_be_visible()

    field(prescriber, "Accepted").check()
    field(prescriber, "Reason").fill("Meets every criterion")
    prescriber.get_by_role("button", name="Record decision").click()
    expect(told(prescriber, f"{PREFERRED}: accepted.")).to_be_visible()

    expect(field(prescriber, "Treatment agreement signed on")).to_have_value(DAY.isoformat())
    field(prescriber, "Witnessed by").select_option(label=HCA.name)
    prescriber.get_by_role("button", name="Admit").click()
    expect(told(prescriber, f"{PREFERRED} admitted")).to_be_visible()
    expect(prescriber.locator("main")).to_contain_text(Status.TITRATION.label)


def prescribe_the_first_dose(prescriber):
    prescriber.get_by_role("link", name="Prescriptions").click()
    expect(prescriber.locator("main")).to_contain_text("No prescription is in force")
    prescriber.get_by_role("link", name="New prescription version").click()
    field(prescriber, "AM dose (mg)").fill("15")
    field(prescriber, "PM dose (mg)").fill("15")
    field(prescriber, "Reason").fill("Titration: the first dose")
    prescriber.get_by_role("button", name="Issue prescription").click()
    expect(told(prescriber, f"Prescription version 1 issued for {PREFERRED}.")).to_be_visible()
    in_force = prescriber.get_by_test_id("in-force")
    expect(in_force).to_contain_text("AM 15.00 mg")
    expect(in_force).to_contain_text("PM 15.00 mg")


def add_a_session_for_today(prescriber) -> DoseSession:
    _open_person(prescriber)
    prescriber.get_by_role("link", name="Add a session for today").click()
    expect(
        prescriber.get_by_role("heading", name=f"A session for today: {PREFERRED}")
    ).to_be_visible()
    prescriber.get_by_role("radio", name="AM").check()
    field(prescriber, "Reason").fill("Admitted this morning, after the schedule ran")
    prescriber.get_by_role("button", name="Open the session now").click()
    expect(told(prescriber, f"{PREFERRED}'s AM session is open now, until 17:30.")).to_be_visible()
    session = DoseSession.objects.get(service_user__preferred_name=PREFERRED)
    expect(prescriber).to_have_url(re.compile(rf"/dosing/sessions/{session.pk}/$"))
    return session


def give_the_first_dose(nurse, session):
    """From the dosing room's board: the assessment with a breath test, then the
    injection, witnessed by the HCA typing their own password."""
    nav_click(nurse, "Dosing room")
    row = nurse.locator(f'tr[data-session="{session.pk}"]')
    expect(row).to_contain_text(PREFERRED)
    expect(row).to_contain_text("15.00 mg")
    expect(row.get_by_test_id("risk-flags")).to_have_text("alcohol")
    row.get_by_role("link", name="Open").click()
    expect(nurse.get_by_test_id("session-status")).to_have_text("Scheduled")
    expect(nurse.get_by_test_id("prescribed-dose")).to_contain_text("Prescribed AM dose: 15 mg")

    assess = nurse.locator("form[aria-labelledby=assess-h]")
    assess.get_by_label("Identity confirmed").check()
    assess.get_by_label("1: awake and alert").check()
    assess.get_by_label("Breath alcohol (µg/100 ml)").fill("0")
    assess.get_by_role("button", name="Record assessment").click()
    expect(told(nurse, "Assessment recorded: go on to the injection.")).to_be_visible()
    expect(nurse.get_by_test_id("assessment")).to_contain_text("POSS 1, breath 0")

    inject = nurse.locator("form[aria-labelledby=inject-h]")
    inject.get_by_label("Drawn up (mg)").fill("15")
    inject.get_by_label("Injected (mg)").fill("15")
    inject.get_by_label("Route").select_option("iv")
    inject.get_by_label("Site").select_option("arm")
    inject.get_by_label("Witness username").fill(HCA.username)
    inject.get_by_label("Witness password").fill(HCA.password)
    inject.get_by_role("button", name="Record injection").click()
    expect(told(nurse, "Injection recorded. Observation has started.")).to_be_visible()


# The test ----------------------------------------------------------------------------------


def test_a_clinic_opened_from_nothing_gives_its_first_dose_on_the_admission_day(
    clock, installer, page, device, live_server
):
    open_the_clinic(page, live_server)
    the_manager_logs_in(page, live_server)

    links = {person.username: invite(page, person) for person in (NURSE, HCA, PRESCRIBER)}
    nurse, hca, prescriber = device(), device(), device()
    for their_page, person in ((nurse, NURSE), (hca, HCA), (prescriber, PRESCRIBER)):
        joins_through_the_link(their_page, person, links[person.username])
    nav_click(page, "Staff")
    for person in (MANAGER, NURSE, HCA, PRESCRIBER):
        expect(page.get_by_test_id(f"staff-{person.username}")).to_contain_text(
            "Set up 3 Mar 2026 · 10 recovery codes left"
        )

    give_the_policy_breath_thresholds(page)
    add_a_pharmacy(page)
    open_the_dose_supply_section(page)

    receive_stock(nurse)
    refer(nurse)
    assess_accept_and_admit(prescriber)
    person = ServiceUser.objects.get(preferred_name=PREFERRED)
    assert (person.status, person.flag_alcohol) == (Status.TITRATION, True)
    # Admitted after today's schedule would have run: no session today yet.
    assert not DoseSession.objects.filter(service_user=person).exists()
    prescribe_the_first_dose(prescriber)

    session = add_a_session_for_today(prescriber)

    give_the_first_dose(nurse, session)

    expect(nurse.get_by_test_id("session-status")).to_have_text("Administered")
    expect(nurse.get_by_test_id("injection")).to_contain_text("15 mg intravenous, arm")
    expect(nurse.get_by_test_id("injection")).to_contain_text(f"witness {HCA.name}")
    session.refresh_from_db()
    assert (session.status, session.clinic_day, session.slot_code) == (
        SessionStatus.ADMINISTERED,
        DAY,
        "AM",
    )
    assert session.added_by.username == PRESCRIBER.username
    administration = session.administrations.get()
    assert (administration.nurse.username, administration.witness.username) == (
        NURSE.username,
        HCA.username,
    )
    supply = RegisterEntry.objects.get(kind=EntryKind.SUPPLY)
    assert (supply.session, supply.ampoules_out, supply.witness) == (
        session,
        1,  # a 15 mg dose opens one 100 mg ampoule; the rest is its waste
        administration.witness,
    )
    assert supply.section.clinic.name == CLINIC

    # The register shows the dose taken out of the stock received.
    nav_click(nurse, "CD register")
    nurse.get_by_role("link", name=SECTION).click()
    expect(nurse.get_by_test_id("balance")).to_have_text("Balance 9 ampoules (900 mg)")
    rows = nurse.get_by_test_id("register").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Receipt")
    expect(rows.nth(1)).to_contain_text("Supply")
    expect(rows.nth(1)).to_contain_text(f"{GIVEN} {FAMILY}")
    expect(rows.nth(1)).to_contain_text("15 mg drawn up from 1 ampoule (100 mg)")
    expect(rows.nth(1)).to_contain_text(HCA.name)
    expect(rows.nth(2)).to_contain_text("Waste 85 mg. 85 mg left in the opened ampoule")
