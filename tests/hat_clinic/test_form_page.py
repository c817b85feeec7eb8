"""One way to answer a refusal (issue 17.4): core.forms.form_page, used by every HTML
view that saves a form, and core.api.ActsThroughServices.act by every API write."""

import ast
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.test import RequestFactory

from core.errors import Conflict, RuleViolation
from core.forms import Done, form_page

ROOT = Path(settings.BASE_DIR)


class DoseForm(forms.Form):
    dose = forms.DecimalField()
    note = forms.CharField(required=False)


def _request(method="post", data=None):
    request = getattr(RequestFactory(), method)("/somewhere/", data or {})
    request._messages = CookieStorage(request)
    return request


def _page(form):
    return HttpResponse(
        f"dose errors={list(form.errors.get('dose', []))} "
        f"general={list(form.non_field_errors())} typed={form.data.get('dose', '')}"
    )


def _answer(request, save, **options):
    return form_page(request, DoseForm(request.POST or None), save=save, page=_page, **options)


def _refuse(error):
    def save(data):
        raise error

    return save


def test_a_get_shows_the_page():
    response = _answer(_request("get"), _refuse(AssertionError("not saved on a GET")))
    assert response.status_code == 200


def test_a_form_that_does_not_validate_is_a_400_and_keeps_what_was_typed():
    response = _answer(_request(data={"dose": "lots"}), _refuse(AssertionError("not saved")))
    assert response.status_code == 400
    assert "typed=lots" in response.content.decode()
    assert "Enter a number." in response.content.decode()


def test_a_refusal_stands_beside_the_field_it_names_with_a_400():
    refusal = RuleViolation("At most 15 mg for a new starter.", code="x", field="dose")
    response = _answer(_request(data={"dose": "20"}), _refuse(refusal))
    assert response.status_code == 400
    body = response.content.decode()
    assert "dose errors=['At most 15 mg for a new starter.']" in body
    assert "typed=20" in body


def test_a_refusal_of_no_field_on_the_form_stands_above_it():
    refusal = RuleViolation("The clinic is closed.", code="x", field="elsewhere")
    response = _answer(_request(data={"dose": "20"}), _refuse(refusal))
    assert response.status_code == 400
    assert "general=['The clinic is closed.']" in response.content.decode()


def test_a_models_validation_error_stands_beside_its_fields():
    error = ValidationError({"dose": "Too much.", "nhs_number": "Already registered."})
    response = _answer(_request(data={"dose": "20"}), _refuse(error))
    assert response.status_code == 400
    body = response.content.decode()
    assert "dose errors=['Too much.']" in body
    assert "Already registered." in body  # not a field of this form: above it


def test_a_saved_form_redirects_with_its_message():
    request = _request(data={"dose": "10"})
    saved = []

    def save(data):
        saved.append(data["dose"])
        return "Dose recorded."

    response = _answer(request, save, done_url="/done/")
    assert (response.status_code, response.url, saved) == (302, "/done/", [10])
    assert [str(m) for m in get_messages(request)] == ["Dose recorded."]


def test_done_names_where_to_go_and_a_warning():
    request = _request(data={"dose": "10"})
    response = _answer(request, lambda data: Done("/next/", "Saved.", warning="Short notice."))
    assert (response.status_code, response.url) == (302, "/next/")
    assert [str(m) for m in get_messages(request)] == ["Saved.", "Short notice."]


def test_a_page_shown_once_is_answered_as_it_is():
    shown = HttpResponse("the key, once")
    assert _answer(_request(data={"dose": "10"}), lambda data: shown) is shown


def test_a_view_may_answer_a_refusal_its_own_way():
    conflict = Conflict("A colleague recorded it first.", code="already")
    answer = _answer(
        _request(data={"dose": "10"}),
        _refuse(conflict),
        refused=lambda form, refusal: HttpResponse(refusal.message, status=409),
    )
    assert (answer.status_code, answer.content) == (409, b"A colleague recorded it first.")
    passed_on = _answer(
        _request(data={"dose": "10"}), _refuse(conflict), refused=lambda form, refusal: None
    )
    assert passed_on.status_code == 400


def _catches_rule_violation(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ExceptHandler) and "RuleViolation" in ast.unparse(node.type or ""):
            lines.append(node.lineno)
    return lines


def test_no_page_hand_rolls_its_refusals():
    """Pages save forms through form_page. The dashboards' filters are a GET query
    string, not a form: they are refused in their own page, with 400, by the filter."""
    allowed = {"monitoring/dashboard_views.py"}
    hand_rolled = {
        f"{path.relative_to(ROOT)}:{line}"
        for package in settings.PROJECT_APPS
        for path in (ROOT / package).rglob("*views.py")
        if str(path.relative_to(ROOT)) not in allowed
        for line in _catches_rule_violation(path)
    }
    assert not hand_rolled, f"use core.forms.form_page: {sorted(hand_rolled)}"


def test_every_api_action_answers_through_one_helper():
    """Each API write validates its input and answers through
    core.api.ActsThroughServices.act, not a helper of its own."""
    own_ways = {
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for package in settings.PROJECT_APPS
        for path in (ROOT / package).rglob("*.py")
        if path != ROOT / "core" / "api.py" and "migrations" not in path.parts
        for node in ast.walk(ast.parse(path.read_text()))
        if (isinstance(node, ast.FunctionDef) and node.name == "_act")
        or (
            isinstance(node, ast.Call)
            and ast.unparse(node.func).endswith(".is_valid")
            and any(k.arg == "raise_exception" for k in node.keywords)
        )
    }
    assert not own_ways, f"use ActsThroughServices.act: {sorted(own_ways)}"
