"""Form helpers shared by every app's pages."""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render

from .errors import RuleViolation


def add_refusal(form, refusal: RuleViolation) -> None:
    """Show a service's refusal beside the field it names, or above the form.

    A form may translate the service's field names (``slot_doses.AM`` is the
    ``dose_AM`` input) with a ``field_for`` method.
    """
    translate = getattr(form, "field_for", None)
    field = translate(refusal.field) if translate else refusal.field
    form.add_error(field if field in form.fields else None, refusal.message)


@dataclass(frozen=True)
class Done:
    """Where a page goes after a form is saved (a URL, or a URL name as redirect() takes),
    and what it tells the member of staff."""

    url: str
    message: str = ""
    level: int = messages.SUCCESS
    # Said beside it: a caution about what was saved (short notice, a code used up).
    warning: str = ""


Refused = Callable[[object, RuleViolation], HttpResponse | None]


def form_page(
    request,
    form,
    *,
    save: Callable[[dict], str | Done | HttpResponse],
    page: Callable[[object], HttpResponse] | None = None,
    template: str = "",
    context: dict | None = None,
    done_url: str = "",
    refused: Refused | None = None,
) -> HttpResponse:
    """The one way a page answers its form.

    A GET shows the page (``page(form)``, or ``template`` with ``context``). A POST
    that does not validate, or that the service refuses (a RuleViolation, or a
    model's ValidationError), shows the page again with 400: what was typed is kept,
    and the message stands beside the field it names, or above the form. A saved
    POST follows what ``save(cleaned_data)`` returns: a message (then ``done_url``),
    a ``Done``, or a page to show as it is (a key or codes shown once).

    ``refused(form, refusal)`` may answer a refusal its own way (the dosing room
    answers a race lost to a colleague with 409 and the session as it now is); it
    returns None to leave it to the rule above.
    """
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                outcome = save(form.cleaned_data)
            except RuleViolation as refusal:
                answer = refused(form, refusal) if refused else None
                if answer is not None:
                    return answer
                add_refusal(form, refusal)
            except ValidationError as error:  # a model's own rule, as full_clean says it
                add_invalid(form, error)
            else:
                return _done(request, outcome, done_url)
    response = page(form) if page else render(request, template, {**(context or {}), "form": form})
    response.status_code = status
    return response


def _done(request, outcome, done_url: str) -> HttpResponse:
    if isinstance(outcome, HttpResponseBase):
        return outcome
    if isinstance(outcome, str):
        outcome = Done(url=done_url, message=outcome)
    if outcome.message:
        messages.add_message(request, outcome.level, outcome.message)
    if outcome.warning:
        messages.warning(request, outcome.warning)
    return redirect(outcome.url)


def add_invalid(form, error: ValidationError) -> None:
    """A model's ValidationError, beside the fields it names that the form has."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
