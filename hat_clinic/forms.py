"""Form helpers shared by every app's pages."""

from hat_clinic.errors import RuleViolation


def add_refusal(form, refusal: RuleViolation) -> None:
    """Show a service's refusal beside the field it names, or above the form.

    A form may translate the service's field names (``slot_doses.AM`` is the
    ``dose_AM`` input) with a ``field_for`` method.
    """
    translate = getattr(form, "field_for", None)
    field = translate(refusal.field) if translate else refusal.field
    form.add_error(field if field in form.fields else None, refusal.message)
