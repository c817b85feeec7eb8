import datetime as dt

import pytest
import time_machine

# A Thursday morning in November, GMT: the dosing tests' "now".
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen_clock():
    """Stop the clock at NOW for tests that submit forms or API calls without a time."""
    with time_machine.travel(NOW, tick=False):
        yield NOW
