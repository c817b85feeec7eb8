"""Small assertions shared by the test modules."""

import pytest

from hat_clinic.errors import RuleViolation


def refused(code, call, **kwargs) -> RuleViolation:
    """Call a service and expect it to refuse with this code; returns the refusal."""
    with pytest.raises(RuleViolation) as refusal:
        call(**kwargs)
    assert refusal.value.code == code, refusal.value.message
    return refusal.value
