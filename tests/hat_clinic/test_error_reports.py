"""An error report never shows a witness's password (issue 16.7).

A crash in the middle of a witnessed dose is forced by a receiver on the injection's
save, outside our code, so the real view and services run up to the point of
failure. The report Django builds for it (the debug page with DEBUG on, the log's
e-mail with it off) is then read in full: the password must not be in it, in the
POST data or in any frame's variables.
"""

import logging

import pytest
import time_machine
from django.db.models.signals import post_save
from django.views.debug import ExceptionReporter

from dosing.assessment import session_assess
from dosing.models import Administration
from tests.dosing.room_setup import on_prescription
from tests.dosing.test_session_safety import at, page_url, slot
from tests.factories import PASSWORD, StaffClient


class Crash(Exception):
    pass


@pytest.fixture
def crash_on_injection():
    def crash(**kwargs):
        raise Crash("the disk filled up")

    post_save.connect(crash, sender=Administration, dispatch_uid="crash")
    yield
    post_save.disconnect(sender=Administration, dispatch_uid="crash")


def reports(caplog) -> list[str]:
    """Every way Django renders the logged error: text (the e-mail) and HTML (the
    debug page), for each request that failed."""
    rendered = []
    for record in caplog.records:
        if record.name == "django.request" and record.exc_info:
            reporter = ExceptionReporter(record.request, *record.exc_info)
            rendered += [reporter.get_traceback_text(), reporter.get_traceback_html()]
    assert rendered, "the request did not fail"
    return rendered


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("via", ["page", "api"])
def test_a_crash_during_a_witnessed_dose_reports_no_password(
    cast, settings, caplog, crash_on_injection, debug, via
):
    settings.DEBUG = debug
    session = slot(on_prescription(cast))
    session_assess(session=session, nurse=cast.nurse, identity_confirmed=True, poss="1", now=at(9))
    client = StaffClient(raise_request_exception=False)
    client.force_login(cast.nurse)
    fields = {
        "drawn_mg": "60",
        "injected_mg": "60",
        "route": "iv",
        "site": "hand",
        "witness_username": cast.hca.username,
        "witness_password": PASSWORD,
    }
    caplog.set_level(logging.ERROR, logger="django.request")
    with time_machine.travel(at(9, 5), tick=False):
        if via == "page":
            data = {"action": "administer", **{f"administer-{k}": v for k, v in fields.items()}}
            response = client.post(page_url(session), data)
        else:
            response = client.post(
                f"/api/v1/dose-sessions/{session.pk}/administer/",
                fields,
                content_type="application/json",
            )
    assert response.status_code == 500
    assert not Administration.objects.exists(), "nothing is written half-way"
    for report in [*reports(caplog), response.content.decode()]:
        assert PASSWORD not in report
    if debug and via == "page":
        page = response.content.decode()
        assert "Crash" in page and "witness_password" in page and "********" in page
