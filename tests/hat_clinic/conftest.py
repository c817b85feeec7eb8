import pytest

from tests.hat_clinic.api_setup import make_records


@pytest.fixture
def records(cast):
    """One record of every kind in clinic A, for the API routes that name one."""
    return make_records(cast)
