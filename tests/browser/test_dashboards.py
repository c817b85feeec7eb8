"""The managers' dashboards in Chromium (issue 8.8): each one's chart renders with
data, and a table downloads as CSV with the filters applied."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.browser.navigation import nav_click
from tests.browser.test_login import _log_in
from tests.monitoring.scan_setup import people_on_prescription, schedule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_attendance_chart_renders_and_the_csv_downloads(page, live_server, cast):
    people_on_prescription(cast, 3)
    schedule(cast, dt.date(2026, 2, 9), dt.date(2026, 2, 10))
    _log_in(page, live_server, cast.manager.username)
    nav_click(page, "Dashboards")
    page.get_by_role("link", name="Attendance").click()
    page.get_by_label("From", exact=True).fill("2026-02-09")
    page.get_by_label("To", exact=True).fill("2026-02-10")
    page.get_by_label("By", exact=True).select_option("day")
    page.get_by_role("button", name="Show").click()
    assert page.locator("canvas#attendance-chart").is_visible()
    points = page.evaluate(
        "Chart.getChart('attendance-chart').data.datasets"
        ".map(d => d.data.reduce((a, b) => a + b, 0))"
    )
    assert sum(points) == 12, "the chart carries every session"
    assert "12 sessions scheduled" in page.get_by_test_id("totals").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    assert download.value.suggested_filename == "attendance-by-period-2026-02-09-2026-02-10.csv"


def test_the_outcomes_chart_renders_and_the_csv_downloads(page, live_server, cast):
    from eligibility.models import Status
    from monitoring.records import tox_screen_record
    from tests.factories import make_service_user

    person = make_service_user(cast.clinic_a, Status.MAINTENANCE, by=cast.prescriber)
    for day, result in [(dt.date(2026, 1, 5), "positive"), (dt.date(2026, 2, 5), "negative")]:
        tox_screen_record(
            service_user=person,
            recorded_by=cast.nurse,
            sample_date=day,
            results={"papaverine": result},
        )
    _log_in(page, live_server, cast.manager.username)
    nav_click(page, "Dashboards")
    page.get_by_role("link", name="Outcomes").click()
    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2026-02-28")
    page.get_by_role("button", name="Show").click()
    heroin = page.evaluate("Chart.getChart('outcomes-chart').data.datasets[0].data")
    assert heroin == [100, 0]
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    assert download.value.suggested_filename == "outcomes-by-month-2026-01-01-2026-02-28.csv"


def test_the_retention_curve_renders_and_the_csv_downloads(page, live_server, cast):
    from tests.monitoring.test_retention import episode

    episode(cast, dt.date(2026, 1, 5), dt.date(2026, 1, 19), "disengaged")
    episode(cast, dt.date(2026, 1, 5))
    _log_in(page, live_server, cast.manager.username)
    nav_click(page, "Dashboards")
    page.get_by_role("link", name="Retention").click()
    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    curve = page.evaluate("Chart.getChart('retention-chart').data.datasets[0].data")
    assert curve[:3] == [100, 100, 50], "one of two left on day 14"
    assert len(curve) == 8, "followed to 1 March: 55 days, weeks 0 to 7"
    assert (
        "2 episodes: 1 in treatment, 1 ended"
        in page.get_by_test_id("retention-summary").inner_text()
    )
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    assert download.value.suggested_filename == "retention-by-curve-2026-01-01-2026-03-01.csv"
    rows = download.value.path().read_text().splitlines()
    assert rows[3] == "2,2,1,0,50.0"


def test_the_workload_chart_renders_and_the_csv_downloads(page, live_server, cast):
    people_on_prescription(cast, 3)
    _log_in(page, live_server, cast.manager.username)
    nav_click(page, "Dashboards")
    page.get_by_role("link", name="Workload and safety").click()
    page.wait_for_url("**/dashboards/workload/")
    series = page.evaluate(
        "Chart.getChart('workload-chart').data.datasets.map(d => [d.label, d.data[0]])"
    )
    assert series == [["Taken", 3], ["Offered", 0], ["Free", 12]]
    assert "Clinic A" in page.get_by_test_id("places").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").first.click()
    assert download.value.suggested_filename.startswith("workload-by-clinic-")
    rows = download.value.path().read_text().splitlines()
    assert rows[1].startswith("Clinic A,15,3,0,0,12,20.0,0,")


def test_a_range_that_runs_backwards_is_refused_and_the_dates_typed_stay(page, live_server, cast):
    """The dashboards' tables are drawn by one template now; a refused filter still
    shows the dates as typed, the one at fault marked, and no table."""
    people_on_prescription(cast, 1)
    _log_in(page, live_server, cast.manager.username)
    nav_click(page, "Dashboards")
    page.get_by_role("link", name="Workload and safety").click()
    page.get_by_label("From", exact=True).fill("2026-02-10")
    page.get_by_label("To", exact=True).fill("2026-02-09")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#filter-error")).to_contain_text("'from' is after 'to'.")
    expect(page.get_by_label("From", exact=True)).to_have_value("2026-02-10")
    expect(page.get_by_label("From", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("To", exact=True)).to_have_value("2026-02-09")
    expect(page.get_by_test_id("places")).to_have_count(0)
    page.get_by_label("To", exact=True).fill("2026-02-28")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("places")).to_contain_text("Clinic A")
