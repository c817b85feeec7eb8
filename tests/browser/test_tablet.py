"""Issue 14.9: on a tablet (820 x 1180 portrait, 1024 x 768 landscape) no page scrolls
sideways for any role, and the main navigation folds into a menu.

The pages come from the URLconf, not from a list here, so a new page is covered
without touching this file: each pattern's arguments are filled with records of
clinic A made through the services (the API tests' clinic with one record of every
kind), and every pattern must end up opened by some role or skipped with a reason.
"""

import datetime as dt
import re
import time
from collections import Counter, defaultdict
from itertools import product

import pytest
import time_machine
from django.urls import URLResolver, get_resolver
from playwright.sync_api import expect

from alerts.models import Alert
from alerts.services import alert_acknowledge
from core.roles import Role
from dosing.exit_plans import reducing_plan_create
from dosing.leaving import suspension_start
from dosing.models import Exit, Pharmacy, RegisterSection
from dosing.prescribing import prescription_issue
from dosing.register_views import ACTIONS
from dosing.reviews import review_record
from eligibility.models import Criterion, IntegrationToken, Referral, Status
from eligibility.services import staff_member_add
from tests.browser.navigation import log_in_here
from tests.conftest import CAST_A
from tests.eligibility.pathway_setup import assess, refer
from tests.factories import TRANSFER, make_service_user, make_staff
from tests.hat_clinic.api_setup import MON, make_records
from tests.monitoring.scan_setup import london, schedule, session_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TUE = MON + dt.timedelta(days=1)
TABLETS = [(820, 1180), (1024, 768)]
LONG_LINK = "https://letters.example.nhs.uk/view?token=" + "3f9a2c81e7b64d0f" * 6

# What is not a page of a role, by the start of its route or by its name.
NOT_PAGES_BY_ROUTE = {
    "api/": "the JSON API and its documentation (the API tests cover them)",
    "admin/": "Django's admin, for superusers only",
}
NOT_PAGES_BY_NAME = {
    "favicon": "the icon: a redirect to a static file",
    "login": "the anonymous log-in form: each role's log-in checks it instead",
    "logout": "logs out; answers POST only",
    "two-factor": "the second step of logging in: each role's log-in passes it instead",
    "register-csv": "a CSV download",
    "service-user-photo": "a photograph",
    "dose-session-photo": "a photograph",
    "staff-link": "a one-time link's page, opened with no login (tests/eligibility/test_staff.py)",
}
# Arguments that name no record, and the values to fill them with.
WORDS = {"kind": [kind.value for kind in ACTIONS]}  # a register section's kinds of entry

# The fewest pages each role must open at each width, so that a broken set-up
# (every page refused, say) cannot pass by testing nothing.
FEWEST_PAGES = {"nurse": 35, "hca": 25, "prescriber": 40, "manager": 30, "administrator": 3}
# Each role of clinic A, and an installation administrator on no clinic's staff.
ROLES = (*CAST_A, "administrator")

# How far the page is scrollable sideways, and the elements sticking out to the right
# of the viewport, deepest first, to name the culprit: a box too wide, or text running
# out of its box (a long word that does not wrap).
OVERFLOW = """() => {
  const width = window.innerWidth + 0.5;
  const right = el => {
    const box = el.getBoundingClientRect();
    const visible = getComputedStyle(el).overflowX === 'visible';
    return box.width ? Math.max(box.right, visible ? box.left + el.scrollWidth : 0) : 0;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (right(el) > width && ![...el.children].some(c => right(c) > width)) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        [...el.classList].map(c => '.' + c).join('');
      const text = (el.innerText || '').trim().slice(0, 40);
      wide.push(`${name} (right edge ${Math.round(right(el))} px) ${text}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
          wide: wide.slice(0, 5)};
}"""
ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.name


def url_patterns() -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(route, name) of every page pattern, and the others' names with the reason."""
    pages, skipped = [], {}
    for route, name in _walk(get_resolver().url_patterns):
        reason = NOT_PAGES_BY_NAME.get(name) or next(
            (why for start, why in NOT_PAGES_BY_ROUTE.items() if route.startswith(start)), None
        )
        if reason:
            skipped[name or route] = reason
        else:
            pages.append((route, name))
    return pages, skipped


def long_named_on_prescription(cast):
    """A service user with a long name and risk flags, on a twice-daily prescription."""
    person = make_service_user(
        cast.clinic_a,
        Status.MAINTENANCE,
        by=cast.prescriber,
        now=london(MON, 8),
        given_name="Maximilian-Alexander",
        family_name="Featherstonehaugh-Cholmondeley-Worthington",
        flags=["benzodiazepines", "alcohol"],
    )
    prescription_issue(
        service_user=person,
        prescriber=cast.prescriber,
        slot_doses={"AM": "60", "PM": "60"},
        **TRANSFER,
        reason="Transfer",
        now=london(MON, 8),
    )
    return person


def records_by_route(cast) -> dict[str, list]:
    """For a route's leading words, the records its <pk> may name, in clinic A: the API
    tests' record of every kind, and long words as staff paste them (a letter's signed
    link) and a long name with risk flags, which must wrap or scroll inside their
    table, not widen the page."""
    made = make_records(cast)
    person = made["person"]
    cast.administrator = make_staff(None, Role.INSTALLATION_ADMIN, username="installer")
    long_named = long_named_on_prescription(cast)
    schedule(cast, TUE)
    suspension_start(
        service_user=long_named,
        kind="hospital",
        starts_on=TUE,
        reason=f"Admitted; discharge letter {LONG_LINK}",
        recorded_by=cast.nurse,
        now=london(TUE, 8),
    )
    review_record(
        service_user=person,
        prescriber=cast.prescriber,
        decision="continue",
        notes=f"GP letter: {LONG_LINK}",
        now=london(TUE, 8),
    )
    reducing_plan_create(
        service_user=person,
        created_by=cast.prescriber,
        weekly_reduction_percent=10,
        starts_at=london(TUE + dt.timedelta(days=7), 9),
        reason="Planned exit",
        activate=False,
        now=london(TUE, 8),
    )
    alert_acknowledge(
        alert=Alert.objects.filter(clinic=cast.clinic_a).last(),
        by=cast.nurse,
        note=f"Called the ward: {LONG_LINK}",
        now=london(TUE, 8),
    )
    referral = refer(cast, now=london(MON, 10))
    first = next(iter(Criterion)).value
    assess(cast, referral, now=london(MON, 11), **{first: (True, f"Letter {LONG_LINK}")})
    ids = made["ids"]
    return {
        # In treatment with a record of every kind; long words; exited.
        "service-users/": [person, long_named, Exit.objects.get(pk=ids["exit"]).service_user],
        "referrals/": [Referral.objects.get(pk=ids["referral"]), referral],
        "suspensions/": [ids["suspension"]],
        "register/": list(RegisterSection.objects.filter(clinic=cast.clinic_a)),
        "clinic/tokens/": list(IntegrationToken.objects.filter(clinic=cast.clinic_a)),
        "clinic/pharmacies/": list(Pharmacy.objects.filter(clinic=cast.clinic_a)),
        "alerts/": [ids["alert"]],
        "dosing/sessions/": [
            session_of(person, MON, "AM"),  # given and observed
            session_of(person, MON, "PM"),  # missed
            session_of(person, TUE, "AM"),  # open now: the assessment form
        ],
        "exit-plans/": list(person.reducing_plans.all()),
        "prescriptions/": [ids["prescription"]],
        "staff/": [ids["staff"]],
        "take-home/supplies/": [ids["take-home-supply"]],
        "guest-stays/": [ids["guest-stay"]],
    }


def paths_for(route, records) -> list[str]:
    """The route with its arguments filled: its record argument with each record it
    may name, chosen by the route's start, and each word argument with each value."""
    if not ARGUMENT.search(route):
        return ["/" + route]
    start = next((s for s in sorted(records, key=len, reverse=True) if route.startswith(s)), None)
    assert start, f"{route}: no records for its arguments; add them to records_by_route"
    paths = []
    for record in records[start]:
        path = ARGUMENT.sub(str(getattr(record, "pk", record)), route, count=1)
        words = ARGUMENT.findall(path)
        assert set(words) <= set(WORDS), f"{route}: no values for {words}; add them to WORDS"
        for values in product(*(WORDS[word] for word in words)):
            filled = path
            for value in values:
                filled = ARGUMENT.sub(value, filled, count=1)
            paths.append("/" + filled)
    return paths


def pages_of_each_role(cast, pages, records) -> tuple[dict, dict]:
    """Asks Django (no browser, so quickly) which paths each role may open: 200 is a
    page of theirs, 403 or 404 is not. A pattern that answers GET with 405 is an
    action, not a page. Anything else (a redirect, an error) fails here."""
    allowed, actions = defaultdict(list), {}
    for role in ROLES:
        client = cast.client(role)
        for route, name in pages:
            for path in paths_for(route, records):
                status = client.get(path).status_code
                if status == 405:
                    actions[name] = "an action: answers POST only"
                elif status == 200:
                    allowed[role].append((name, path))
                else:
                    assert status in (403, 404), f"{role} GET {path}: HTTP {status}"
    return allowed, actions


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    assert_no_overflow(page, "/login/")
    log_in_here(page, username)


def overflow_of(page) -> str | None:
    found = page.evaluate(OVERFLOW)
    if found["scroll"] == found["inner"]:
        return None
    return f"scroll width {found['scroll']} px in {found['inner']} px: " + "; ".join(found["wide"])


def assert_no_overflow(page, where):
    problem = overflow_of(page)
    assert problem is None, f"{where}: {problem}"


def watch_favicon(page, failures: list) -> None:
    """Notes each favicon request that failed; one cancelled by the next navigation
    (net::ERR_ABORTED) has not."""

    def answered(response):
        if "favicon" in response.url and response.status >= 400:
            failures.append(f"{response.url}: HTTP {response.status}")

    def failed(request):
        if "favicon" in request.url and request.failure != "net::ERR_ABORTED":
            failures.append(f"{request.url}: {request.failure}")

    page.on("response", answered)
    page.on("requestfailed", failed)


@pytest.fixture
def clock():
    # Tuesday 09:00: Monday's sessions are done, Tuesday's morning window is open.
    with time_machine.travel(london(TUE, 9), tick=True) as traveller:
        yield traveller


def test_no_page_scrolls_sideways_on_a_tablet_for_any_role(browser, live_server, cast, clock):
    records = records_by_route(cast)
    pages, skipped = url_patterns()
    allowed, actions = pages_of_each_role(cast, pages, records)
    skipped |= actions
    opened = defaultdict(set)  # pattern name: the roles that opened it
    counts = Counter()  # (role, width): pages opened
    overflows, favicon_failures = [], []
    started = time.monotonic()
    for role in ROLES:
        # One context per role, logged in once, for both widths: a browser context
        # costs more than a page load.
        context = browser.new_context(viewport={"width": 820, "height": 1180})
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch_favicon(page, favicon_failures)
        log_in(page, live_server, getattr(cast, role).username)
        for width, height in TABLETS:
            page.set_viewport_size({"width": width, "height": height})
            for name, path in allowed[role]:
                response = page.goto(live_server.url + path)
                assert response.status == 200, f"{role} {path}: HTTP {response.status}"
                problem = overflow_of(page)
                if problem:
                    overflows.append(f"{role} at {width} px, {path}: {problem}")
                opened[name].add(role)
                counts[role, width] += 1
        # The icon the pages link, and /favicon.ico that browsers ask for regardless.
        for icon in (page.locator("link[rel=icon]").get_attribute("href"), "/favicon.ico"):
            answer = page.request.get(live_server.url + icon)
            if not answer.ok or answer.headers["content-type"] != "image/svg+xml":
                favicon_failures.append(f"{icon}: HTTP {answer.status}")
        context.close()
    print(
        "\nNo sideways scrolling: "
        + ", ".join(f"{role} {counts[role, 820]}" for role in ROLES)
        + f" pages at each of {len(TABLETS)} widths in {time.monotonic() - started:.0f} s; "
        + f"{len(opened)} patterns opened, {len(skipped)} skipped"
    )
    assert not overflows, "Pages scrolling sideways:\n" + "\n".join(overflows)
    assert not favicon_failures, f"favicon requests failed: {favicon_failures}"
    for role in ROLES:
        for width, _ in TABLETS:
            assert counts[role, width] >= FEWEST_PAGES[role], (role, width, counts[role, width])
    unopened = {name for _, name in pages} - set(opened) - set(skipped)
    assert not unopened, f"patterns no role opened, none skipped with a reason: {unopened}"


def test_the_board_shows_each_dose_and_risk_flag_on_a_tablet(browser, live_server, cast, clock):
    long_named_on_prescription(cast)
    schedule(cast, TUE)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server, cast.nurse.username)
    for width, height in TABLETS:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/dosing/")
        row = page.get_by_role("row").filter(has_text="Featherstonehaugh")
        for item in [
            row.get_by_text("benzodiazepines"),
            row.get_by_text("alcohol"),
            row.get_by_text("60.00 mg"),
            row.get_by_role("link", name="Open"),
        ]:
            assert item.is_visible(), f"{item} at {width} px"
            box = item.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{item} at {width} px"
        assert_no_overflow(page, f"the board at {width} px")
    context.close()


def opened(menu, page):
    """Open the folded menu and wait for Bootstrap's collapse to finish, so that a
    click lands on the item and not on one still sliding into place."""
    menu.click()
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))
    expect(page.locator("#main-nav.collapsing")).to_have_count(0)


def test_the_navigation_folds_into_a_menu_on_a_tablet(browser, live_server, cast):
    # A manager of two clinics: the longest navigation, and the clinic switcher.
    staff_member_add(clinic=cast.clinic_b, user=cast.manager, roles=[Role.MANAGER])
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    for width, height in TABLETS:
        page.set_viewport_size({"width": width, "height": height})
        log_in(page, live_server, cast.manager.username)
        navigation = page.get_by_role("navigation", name="Main")
        menu = navigation.get_by_role("button", name="Menu")
        log_out = navigation.get_by_role("button", name="Log out")
        clinic = navigation.get_by_role("combobox", name="Clinic")
        assert menu.is_visible()
        assert not log_out.is_visible()
        assert_no_overflow(page, f"the menu closed at {width} px")
        opened(menu, page)
        for item in [*navigation.get_by_role("link").all(), clinic, log_out]:
            box = item.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{item} at {width} px"
        assert_no_overflow(page, f"the menu open at {width} px")
        if width == 820:
            clinic.select_option(label="Clinic B")
            assert "You are now working in Clinic B." in page.get_by_role("alert").inner_text()
            opened(menu, page)
        log_out.click()
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
    context.close()


def test_a_laptop_shows_the_whole_navigation_in_a_row_that_fits(browser, live_server, cast):
    staff_member_add(clinic=cast.clinic_b, user=cast.manager, roles=[Role.MANAGER])
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    log_in(page, live_server, cast.manager.username)
    navigation = page.get_by_role("navigation", name="Main")
    assert not navigation.get_by_role("button", name="Menu").is_visible()
    assert navigation.get_by_role("button", name="Log out").is_visible()
    assert_no_overflow(page, "the navigation at 1200 px")
    context.close()
