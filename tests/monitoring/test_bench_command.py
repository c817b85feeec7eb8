"""The scale benchmark command (issue 5.6) still runs, at a small size."""

import re
from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_bench_command_times_the_scan_in_fixed_queries():
    out = StringIO()
    call_command("bench_missed_scan", people=60, per_clinic=10, attendance=0.5, stdout=out)
    text = out.getvalue()
    assert "Built 60 service users, 120 sessions in 6 clinics" in text
    counts = re.findall(r"in \d+ ms and (\d+) queries", text)
    assert len(counts) == 3 and len(set(counts)) == 1, text
    marked = [int(n) for n in re.findall(r"(\d+) sessions marked missed", text)]
    assert marked[0] < marked[1] < marked[2] == 60, text
