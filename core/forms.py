"""Form helpers shared by every app's pages."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
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


def form_page(request, form, *, save, template: str, context: dict, done_url: str):
    """The usual form page: on a valid POST call save(cleaned_data), which returns
    the success message, and redirect to done_url; on a refusal show it beside its
    field and answer 400."""
    if request.method == "POST" and form.is_valid():
        try:
            message = save(form.cleaned_data)
        except RuleViolation as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, message)
            return redirect(done_url)
    return render(
        request,
        template,
        {**context, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def posted_text(request, name: str) -> str:
    """One text input of a small form beside a button (a reason, a note), cleaned as a
    Django form's CharField would: trimmed, and refused naming the field when it holds
    what the database cannot keep (a NUL character)."""
    try:
        return forms.CharField(required=False).clean(request.POST.get(name, ""))
    except ValidationError as error:
        raise RuleViolation(" ".join(error.messages), code="text_invalid", field=name) from error
