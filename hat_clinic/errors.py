"""The one domain error type, shared by every app.

Services raise these; views turn them into a message on the page and the API's
exception handler into a 400 or 409, so a browser form and an API request that
break the same rule get the same refusal.
"""


class RuleViolation(Exception):
    """A clinical or product rule refuses the action. The message says what to fix."""

    status_code = 400

    def __init__(self, message: str, *, code: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class Conflict(RuleViolation):
    """The record changed under the caller: for example, the dose was already recorded."""

    status_code = 409


def require_reason(
    reason: str | None, message: str = "Give a reason: it is kept in the audit trail."
) -> str:
    """Every change to a clinical record says why; an empty or blank reason is refused."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(message, code="reason_required", field="reason")
    return reason
