"""The strict Content-Security-Policy in Chromium (issue 16.7): no page of any role, nor
the API docs or the admin, breaks it (no securitypolicyviolation event, no console
message), and what moved out of the templates into static/js/clinic.js and
static/css/clinic.css still works: the register's Print button prints, choosing a
clinic switches to it, the dashboards draw their charts, the board refreshes through
htmx, and the sizes once set in style attributes still apply."""

import datetime as dt

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from core.roles import Role
from dosing.register import register_section_add
from eligibility.services import staff_member_add
from hat_clinic.navigation import navigation_for
from monitoring.records import tox_screen_record
from tests.browser.navigation import log_in
from tests.conftest import CAST_A
from tests.factories import make_staff
from tests.monitoring.scan_setup import people_on_prescription, schedule, session_of
from tests.monitoring.test_retention import episode

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = dt.date(2026, 2, 10)

# Before any script of the page: note each violation of the policy.
WATCH_POLICY = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(
    `${e.effectiveDirective} refused ${e.blockedURI || "inline"} ` +
    `(${e.sourceFile || "page"}:${e.lineNumber}) ${e.sample || ""}`.trim()
  );
});
"""
# Stands in for the print dialog, counting the calls.
STUB_PRINT = "window.__printed = 0; window.print = () => { window.__printed += 1; };"


class Watched:
    """A browser context (logged in as username, if given) that notes, page by page,
    each policy violation, console message and uncaught script error."""

    def __init__(self, browser, live_server, username=None, *, init_scripts=()):
        self.live_server = live_server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.add_init_script(WATCH_POLICY)
        for script in init_scripts:
            self.context.add_init_script(script)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.problems: list[str] = []
        self._console: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda e: self._console.append(f"script error: {e}"))
        self.opened: list[str] = []
        if username:
            self.log_in(username)

    def _on_console(self, message) -> None:
        # Chromium's "verbose" level is DevTools' hints about the page (a password
        # form without a username field), not a message of the page or the browser.
        if message.type != "verbose":
            self._console.append(f"console {message.type}: {message.text}")

    def log_in(self, username: str) -> None:
        log_in(self.page, self.live_server, username)
        self.check("/login/")
        assert self.page.url == f"{self.live_server.url}/", (
            f"{username}'s login landed on {self.page.url}, not on Today"
        )

    def visit(self, path: str) -> None:
        response = self.page.goto(self.live_server.url + path)
        assert response.status == 200, f"{path}: HTTP {response.status}"
        self.check(path)
        self.opened.append(path)

    def check(self, where: str) -> None:
        """Notes this page's violations and console messages so far, under its name."""
        found = self.page.evaluate("window.__violations.splice(0)")
        self.problems.extend(f"{where}: policy violation: {v}" for v in found)
        self.problems.extend(f"{where}: {message}" for message in self._console)
        self._console.clear()

    def assert_clean(self) -> None:
        assert not self.problems, "Under the content security policy:\n" + "\n".join(self.problems)

    def close(self) -> None:
        self.context.close()


def dashboards_with_data(cast):
    """Three people on a prescription with sessions and tox screens on DAY, two
    admissions, for the charts and the board; and a register section."""
    people = people_on_prescription(cast, 3)
    schedule(cast, DAY)
    for person, result in zip(people, ["positive", "negative"], strict=False):
        tox_screen_record(
            service_user=person,
            recorded_by=cast.nurse,
            sample_date=DAY,
            results={"papaverine": result},
        )
    # Admitted through the pathway, as the retention curve counts them.
    episode(cast, dt.date(2026, 1, 12))
    episode(cast, dt.date(2026, 1, 12), dt.date(2026, 1, 26), "disengaged")
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100")
    return people, section


DASHBOARDS = {
    "dashboard-attendance": "attendance-chart",
    "dashboard-outcomes": "outcomes-chart",
    "dashboard-retention": "retention-chart",
    "dashboard-workload": "workload-chart",
}
RANGE = f"?from=2026-01-01&to={DAY}"  # from before the admissions to DAY


def test_no_page_of_any_role_breaks_the_policy(browser, live_server, cast):
    people, section = dashboards_with_data(cast)
    person = people[0]
    extra = [
        reverse("service-user-detail", args=[person.pk]),
        reverse("service-user-timeline", args=[person.pk]),
        reverse("prescription-list", args=[person.pk]),
        reverse("register-page", args=[section.pk]),
        f"{reverse('board')}?date={DAY}&slot=AM",
        reverse("dose-session", args=[session_of(person, DAY, "AM").pk]),
        reverse("password-change"),
        reverse("api-docs"),
    ] + [reverse(name) + RANGE for name in DASHBOARDS]
    opened = {}
    for role in CAST_A:
        user = getattr(cast, role)
        watched = Watched(browser, live_server, user.username)
        for entry in navigation_for(user):
            watched.visit(reverse(entry.url_name))
        client = cast.client(role)
        for path in extra:
            # Only what this role may open: another's page answers 403.
            if client.get(path).status_code == 200:
                watched.visit(path)
                if path == reverse("api-docs"):
                    swagger_renders(watched.page)
                    watched.check(path)
        watched.assert_clean()
        opened[role] = watched.opened
        watched.close()
    everything = {path.split("?")[0] for paths in opened.values() for path in paths}
    for path in extra:
        assert path.split("?")[0] in everything, f"no role opened {path}"
    assert all(len(paths) >= 8 for paths in opened.values()), opened


def swagger_renders(page) -> None:
    """Swagger UI starts (its script comes from ?script=) and lists the operations."""
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("HAT clinic API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 20


def test_the_api_docs_work_under_the_policy(browser, live_server, cast):
    watched = Watched(browser, live_server, cast.nurse.username)
    watched.visit("/api/v1/docs/")
    swagger_renders(watched.page)
    # Open one operation: its details render too.
    watched.page.locator(".opblock-summary").first.click()
    expect(watched.page.locator(".opblock-body").first).to_be_visible()
    assert watched.page.locator("script:not([src])").count() == 0
    watched.check("/api/v1/docs/ with an operation open")
    watched.assert_clean()
    watched.close()


def test_the_admin_works_under_the_policy(browser, live_server, cast, service_user_a):
    admin = make_staff(None, is_staff=True, is_superuser=True)
    watched = Watched(browser, live_server)
    watched.visit("/admin/login/")
    watched.log_in(admin.username)
    pk = service_user_a.pk
    for path in (
        "/admin/",
        "/admin/eligibility/serviceuser/",
        f"/admin/eligibility/serviceuser/{pk}/change/",
        f"/admin/eligibility/serviceuser/{pk}/history/",
        "/admin/auth/user/",
        f"/admin/auth/user/{admin.pk}/change/",
    ):
        watched.visit(path)
    page = watched.page
    watched.visit("/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    # The admin's own scripts run: its search and its filters' sidebar.
    watched.visit("/admin/eligibility/serviceuser/?q=Anders")
    expect(page.locator("#result_list")).to_contain_text("Ali")
    expect(page.locator("#changelist-filter")).to_be_visible()
    watched.visit(f"/admin/eligibility/serviceuser/{pk}/history/")
    expect(page.locator("#change-history")).to_contain_text("Test set-up")
    watched.assert_clean()
    watched.close()


def test_the_print_button_prints_the_register(browser, live_server, cast):
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100")
    watched = Watched(browser, live_server, cast.nurse.username, init_scripts=[STUB_PRINT])
    watched.visit(reverse("register-page", args=[section.pk]))
    assert watched.page.evaluate("window.__printed") == 0
    watched.page.get_by_role("button", name="Print").click()
    assert watched.page.evaluate("window.__printed") == 1
    watched.check("after Print")
    watched.assert_clean()
    watched.close()


def test_choosing_a_clinic_switches_to_it_at_once(browser, live_server, cast):
    staff_member_add(clinic=cast.clinic_b, user=cast.nurse, roles=[Role.NURSE])
    watched = Watched(browser, live_server, cast.nurse.username)
    page = watched.page
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.locator(".navbar-brand")).to_have_text("Clinic A")
    # No button to press: changing the choice sends the form.
    assert page.get_by_role("button", name="Change").count() == 0
    with page.expect_navigation():
        nav.get_by_label("Clinic", exact=True).select_option(label="Clinic B")
    expect(nav.locator(".navbar-brand")).to_have_text("Clinic B")
    expect(nav.get_by_label("Clinic", exact=True)).to_have_value(str(cast.clinic_b.pk))
    watched.check("after switching clinic")
    watched.assert_clean()
    watched.close()


def test_the_dashboards_draw_their_charts(browser, live_server, cast):
    dashboards_with_data(cast)
    watched = Watched(browser, live_server, cast.manager.username)
    page = watched.page
    for name, canvas in DASHBOARDS.items():
        watched.visit(reverse(name) + RANGE)
        box = page.locator(f"canvas#{canvas}").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, (name, box)
        points = page.evaluate(f"Chart.getChart('{canvas}').data.datasets.map(d => d.data.length)")
        assert points and all(n > 0 for n in points), (name, points)
    # The retention table scrolls within its 22rem (352 px) rather than growing.
    watched.visit(reverse("dashboard-retention") + RANGE)
    assert (
        page.locator(".table-responsive.max-h-22rem").evaluate("e => getComputedStyle(e).maxHeight")
        == "352px"
    )
    watched.assert_clean()
    watched.close()


def test_the_board_refreshes_through_htmx_under_the_policy(browser, live_server, cast):
    people, _ = dashboards_with_data(cast)
    watched = Watched(browser, live_server, cast.nurse.username)
    page = watched.page
    watched.visit(f"{reverse('board')}?date={DAY}&slot=AM")
    rows = page.locator("#board tbody tr[data-session]")
    expect(rows).to_have_count(3)
    # htmx added no <style> of its own (htmx-config: includeIndicatorStyles false).
    assert page.locator("style").count() == 0
    page.evaluate("document.querySelector('#board tbody').remove()")
    page.evaluate(
        "() => { const b = document.getElementById('board');"
        " return htmx.ajax('GET', b.getAttribute('hx-get'), {target: b, swap: 'innerHTML'}); }"
    )
    expect(rows).to_have_count(3)
    assert page.locator("style").count() == 0
    watched.check("after the board's refresh")
    # The session page's photo or initials are 6rem (96 px) across, as before.
    watched.visit(reverse("dose-session", args=[session_of(people[0], DAY, "AM").pk]))
    avatar = page.locator("main .avatar").first.bounding_box()
    assert (round(avatar["width"]), round(avatar["height"])) == (96, 96), avatar
    watched.assert_clean()
    watched.close()


def test_the_sizes_once_in_style_attributes_still_apply(browser, live_server, cast):
    people, _ = dashboards_with_data(cast)
    person = people[0]
    watched = Watched(browser, live_server, cast.nurse.username)
    page = watched.page
    watched.visit(reverse("service-user-detail", args=[person.pk]))
    avatar = page.locator("main .avatar").first.bounding_box()
    assert (round(avatar["width"]), round(avatar["height"])) == (80, 80), avatar
    watched.visit(reverse("tox-screen-new", args=[person.pk]))
    form = page.locator("main form[method=post]")
    assert form.evaluate("e => getComputedStyle(e).maxWidth") == "768px"  # 48rem
    assert page.locator(".max-w-16rem").evaluate("e => getComputedStyle(e).maxWidth") == "256px"
    # 9rem as declared (a flex item, it may still shrink beside a long label, as before).
    widths = page.locator(".w-9rem").evaluate_all(
        "els => els.map(e => e.computedStyleMap().get('width').toString())"
    )
    assert widths and set(widths) == {"144px"}, widths
    watched.assert_clean()
    watched.close()
    watched = Watched(browser, live_server, cast.manager.username)
    watched.visit(reverse("alert-addresses"))
    form = watched.page.locator("main form[method=post]")
    assert form.evaluate("e => getComputedStyle(e).maxWidth") == "640px"  # 40rem
    watched.assert_clean()
    watched.close()
