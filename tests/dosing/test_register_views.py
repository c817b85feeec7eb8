"""The register's pages, CSV and API (issue 7.5, 7.6): the role cast, refusals shown,
the printable layout and the managers' balance summary."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse

from dosing.register import (
    register_destroy,
    register_receive,
    register_section_add,
    register_stock_check,
)
from tests.factories import PASSWORD
from tests.helpers import names_staff

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def section(cast):
    section = register_section_add(clinic=cast.clinic_a, strength_mg="100", supplies_doses=True)
    register_receive(
        section=section,
        ampoules=5,
        supplier_name="Wholesale Pharma Ltd",
        supplier_address="1 Depot Road",
        batch="B1",
        expiry=dt.date(2027, 1, 31),
        received_by=cast.nurse,
        now=NOW,
    )
    return section


RECEIPT = {
    "ampoules": "2",
    "supplier_name": "Wholesale Pharma Ltd",
    "supplier_address": "1 Depot Road",
    "batch": "B2",
    "expiry": "2027-02-28",
}


def test_the_register_page_reads_like_a_paper_register_and_prints(cast, section):
    response = cast.client("manager").get(reverse("register-page", args=[section.pk]))
    html = response.content.decode()
    assert "Balance 5 ampoules (500 mg)" in html
    assert "Wholesale Pharma Ltd, 1 Depot Road" in html and "batch B1" in html
    assert "data-print>Print</button>" in html  # static/js/clinic.js prints
    assert "Record a receipt" not in html, "a manager reads only"
    css = (
        __import__("pathlib").Path(__file__).resolve().parents[2] / "static/css/clinic.css"
    ).read_text()
    assert "@media print" in css and ".cd-register" in css


def test_a_receipt_and_a_refused_destruction_in_the_browser(cast, section):
    nurse = cast.client("nurse")
    done = nurse.post(
        reverse("register-action", args=[section.pk, "receipt"]), RECEIPT, follow=True
    )
    assert "Entry 2 recorded: receipt. Balance 7 ampoules (700 mg)." in done.content.decode()
    refused = nurse.post(
        reverse("register-action", args=[section.pk, "destruction"]),
        {
            "ampoules": "9",
            "note": "Expired",
            "witness_username": cast.prescriber.username,
            "witness_password": PASSWORD,
        },
    )
    assert refused.status_code == 400
    assert (
        "it holds 7 ampoules (700 mg) and this takes out 9 ampoules (900 mg)"
        in refused.content.decode()
    )


def test_the_csv_export_has_every_entry(cast, section):
    response = cast.client("manager").get(reverse("register-csv", args=[section.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:10] == [
        "entry",
        "date and time",
        "kind",
        "from or to",
        "in (ampoules)",
        "out (ampoules)",
        "balance (ampoules)",
        "in (mg)",
        "out (mg)",
        "balance (mg)",
    ]
    assert rows[1][2:10] == [
        "Receipt",
        "Wholesale Pharma Ltd, 1 Depot Road",
        "5",
        "0",
        "5",
        "500.00",
        "0.00",
        "500.00",
    ]


def test_the_register_page_and_csv_name_who_recorded_and_who_witnessed(cast, section):
    register_destroy(
        section=section,
        ampoules=1,
        note="Broken ampoule",
        recorded_by=cast.nurse,
        witness_username=cast.prescriber.username,
        witness_password=PASSWORD,
        now=NOW,
    )
    client = cast.client("manager")
    html = client.get(reverse("register-page", args=[section.pk])).content.decode()
    rows = list(
        csv.reader(
            io.StringIO(client.get(reverse("register-csv", args=[section.pk])).content.decode())
        )
    )
    by, witness = rows[0].index("recorded by"), rows[0].index("witness")
    assert (rows[2][by], rows[2][witness]) == (
        cast.nurse.get_full_name(),
        cast.prescriber.get_full_name(),
    )
    exported = "\n".join(",".join(row) for row in rows)
    for text, is_html in ((html, True), (exported, False)):
        names_staff(text, cast.nurse, html=is_html)
        names_staff(text, cast.prescriber, html=is_html)


def test_the_managers_see_balances_on_their_home_page(cast, section):
    html = cast.client("manager").get(reverse("home")).content.decode()
    assert "Controlled drugs balances" in html and "5 ampoules (500 mg)" in html
    assert "none yet" in html
    register_stock_check(section=section, counted_ampoules=4, checked_by=cast.nurse, now=NOW)
    html = cast.client("manager").get(reverse("home")).content.decode()
    assert "counted 4 ampoules (400 mg) against 5 ampoules (500 mg)" in html


@pytest.mark.parametrize(
    ("who", "page", "receipt", "check"),
    [
        ("nurse", 200, 302, 302),
        ("hca", 200, 403, 403),  # may witness, not receive or record
        ("prescriber", 200, 302, 302),
        ("manager", 200, 403, 403),  # reads only
        ("nurse_b", 404, 404, 404),
        (None, 302, 302, 302),
    ],
)
def test_the_register_pages_role_cast(cast, section, who, page, receipt, check):
    client = cast.client(who)
    assert client.get(reverse("register-page", args=[section.pk])).status_code == page
    posted = client.post(reverse("register-action", args=[section.pk, "receipt"]), RECEIPT)
    assert posted.status_code == receipt
    counted = client.post(
        reverse("register-action", args=[section.pk, "stock_check"]), {"counted_ampoules": "5"}
    )
    assert counted.status_code == check
    if who is None:
        assert posted["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "listing", "receipt"),
    [
        ("nurse", 200, 201),
        ("hca", 200, 403),
        ("prescriber", 200, 201),
        ("manager", 200, 403),
        ("nurse_b", 200, 404),
        (None, 403, 403),
    ],
)
def test_the_api_role_cast(cast, section, who, listing, receipt):
    client = cast.client(who)
    listed = client.get("/api/v1/cd-register/")
    assert listed.status_code == listing
    body = {"section": section.pk, "kind": "receipt", **RECEIPT, "ampoules": 2}
    assert (
        client.post("/api/v1/cd-register/", body, content_type="application/json").status_code
        == receipt
    )
    if who == "nurse_b":
        assert listed.json()["results"] == []


def test_the_api_lists_entries_and_balances_and_refuses_going_negative(cast, section):
    client = cast.client("nurse")
    balances = client.get("/api/v1/cd-register/balances/").json()
    assert [(b["name"], b["balance_ampoules"], b["balance_mg"]) for b in balances] == [
        ("Diamorphine hydrochloride 100 mg ampoule", 5, "500.00")
    ]
    refused = client.post(
        "/api/v1/cd-register/",
        {
            "section": section.pk,
            "kind": "destruction",
            "ampoules": 6,
            "note": "Expired",
            "witness_username": cast.prescriber.username,
            "witness_password": PASSWORD,
        },
        content_type="application/json",
    )
    assert (refused.status_code, refused.json()["code"]) == (400, "register_balance_negative")
    missing = client.post(
        "/api/v1/cd-register/",
        {"section": section.pk, "kind": "receipt"},
        content_type="application/json",
    )
    assert missing.status_code == 400 and "batch" in missing.json()
    supply = client.post(
        "/api/v1/cd-register/",
        {"section": section.pk, "kind": "supply"},
        content_type="application/json",
    )
    assert supply.status_code == 400, "supplies come only from administrations"


def test_the_admin_shows_register_entries_read_only(cast, section, admin_client):
    entry = section.entries.get()
    url = reverse("admin:dosing_registerentry_change", args=[entry.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(url, {"note": "changed"}).status_code == 403
    delete = reverse("admin:dosing_registerentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.note == ""
