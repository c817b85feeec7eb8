"""Form helpers shared by every app's pages."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone

from .errors import RuleViolation


def add_refusal(form, refusal: RuleViolation) -> None:
    """Show a service's refusal beside the field it names, or above the form.

    A form may translate the service's field names (``slot_doses.AM`` is the
    ``dose_AM`` input) with a ``field_for`` method.
    """
    translate = getattr(form, "field_for", None)
    field = translate(refusal.field) if translate else refusal.field
    form.add_error(field if field in form.fields else None, refusal.message)


DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
MINUTE = dt.timedelta(minutes=1)


def _exists(naive: dt.datetime, zone: dt.tzinfo) -> bool:
    """Whether the clocks ever read this (not in the hour skipped in spring)."""
    there_and_back = naive.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
    return there_and_back.replace(tzinfo=None) == naive


def _twice(naive: dt.datetime, zone: dt.tzinfo) -> bool:
    """Whether the clocks read this twice (in the hour repeated in autumn)."""
    first, second = (naive.replace(tzinfo=zone, fold=fold) for fold in (0, 1))
    return _exists(naive, zone) and first.utcoffset() != second.utcoffset()


def clock_change_refusal(naive: dt.datetime, zone: dt.tzinfo) -> str:
    """What to say of a local time the clocks skip or pass twice: which hour, and what
    to give instead."""
    skipped = not _exists(naive, zone)

    def odd(moment: dt.datetime) -> bool:  # in the same skipped, or repeated, hour
        return not _exists(moment, zone) if skipped else _twice(moment, zone)

    start, end = naive, naive
    while odd(start - MINUTE):
        start -= MINUTE
    while odd(end):
        end += MINUTE
    said = f"{naive:%H:%M} on {naive.day} {naive:%b %Y}"
    instead = f"Give a time before {start:%H:%M} or from {end:%H:%M}."
    if skipped:
        return (
            f"There is no {said} in the clinic's time: the clocks go forward from "
            f"{start:%H:%M} to {end:%H:%M} that night. {instead}"
        )
    return (
        f"{said} comes twice in the clinic's time: the clocks go back from {end:%H:%M} to "
        f"{start:%H:%M} that night. {instead}"
    )


class LocalDateTimeField(forms.DateTimeField):
    """A date and time typed in the clinic's local time (the browser's datetime-local).
    A time the clocks skip in spring, or pass twice in autumn, is refused saying so,
    not with Django's "may be ambiguous or may not exist"."""

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", [DATETIME_LOCAL_FORMAT])
        kwargs.setdefault(
            "widget",
            forms.DateTimeInput(
                attrs={"type": "datetime-local", "class": "form-control"},
                format=DATETIME_LOCAL_FORMAT,
            ),
        )
        super().__init__(**kwargs)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as error:
            if error.code != "ambiguous_timezone":
                raise
            naive = (error.params or {})["datetime"]
            zone = timezone.get_current_timezone()
            raise ValidationError(clock_change_refusal(naive, zone), code="clock_change") from error


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
