"""The managers' dashboards (docs/domain.md, "Monitoring"), one module each. The
records are counted in SQL (over the daily roll-ups of monitoring/rollups.py where
there are any), in a fixed number of queries whatever the size of the history; only
the few counted rows are added up or turned into a curve here."""

from ..rollups import COLUMNS
from .attendance import attendance
from .common import PERIODS, Filters
from .outcomes import outcomes
from .retention import retention
from .workload import workload

__all__ = [
    "COLUMNS",
    "PERIODS",
    "Filters",
    "attendance",
    "outcomes",
    "retention",
    "workload",
]
