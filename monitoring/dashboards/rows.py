"""The dashboards' numbers, typed: what each dashboard function returns, row by row.

These types are the one description of the numbers. The dashboard functions are
checked against them, the page's and the CSV's tables are built from them
(tables.py), and the API's OpenAPI schema is generated from them (schema.py), so a
row that gains, loses or renames a field changes all three or fails a test.

A date is a date here; the API gives it as YYYY-MM-DD, and a `Month` as YYYY-MM.
"""

import datetime as dt
from decimal import Decimal
from typing import NewType, TypedDict

# The first day of a month, given by the API as YYYY-MM.
Month = NewType("Month", dt.date)


# Attendance ---------------------------------------------------------------------


class SessionCounts(TypedDict):
    """Sessions scheduled, and how each ended (monitoring/rollups.py, COLUMNS), with
    adherence: doses taken as a share of the sessions that counted (scheduled, less
    excused and still open); null when none counted."""

    scheduled: int
    administered: int
    withheld: int
    declined: int
    missed: int
    excused: int
    open: int
    adherence: float | None


class PeriodCounts(SessionCounts):
    """One day, week (from its Monday) or month (from its first day)."""

    period: dt.date


class SlotCounts(SessionCounts):
    """One slot of the day (AM, PM, ...)."""

    slot_code: str


class ServiceUserCounts(SessionCounts):
    """One service user, by record number, with the name staff know them by."""

    service_user: int
    service_user__given_name: str
    service_user__family_name: str
    service_user__preferred_name: str
    name: str


class ClinicCounts(SessionCounts):
    """One clinic."""

    clinic: int
    clinic__name: str


class Attendance(TypedDict):
    """Sessions scheduled against each outcome: in total, by period, by slot, by
    service user (by family name) and by clinic (by name)."""

    totals: SessionCounts
    by_period: list[PeriodCounts]
    by_slot: list[SlotCounts]
    by_service_user: list[ServiceUserCounts]
    by_clinic: list[ClinicCounts]


# Retention ----------------------------------------------------------------------


class CurvePoint(TypedDict):
    """The Kaplan-Meier curve at a whole week since admission: the number followed at
    least that long, the exits and censorings in the week up to it, and the share
    still in treatment (percent)."""

    week: int
    at_risk: int
    exits: int
    censored: int
    retained: float


class Band(TypedDict):
    """Episodes by weeks in treatment: still in treatment, and ended."""

    band: str
    in_treatment: int
    ended: int


class EpisodeSummary(TypedDict):
    """Episodes, in treatment and ended; the median weeks in treatment (null until
    half have left); the mean days of those that ended; and the share retained
    (percent) at 4, 12, 26 and 52 weeks, keyed by the week (null once nobody is
    followed that long)."""

    episodes: int
    in_treatment: int
    ended: int
    median_weeks: int | None
    mean_days_ended: float | None
    retained: dict[int, float | None]


class ClinicEpisodes(EpisodeSummary):
    clinic: int
    name: str


class ByClinic(TypedDict):
    """Counts by a choice and clinic: each clinic's count, in the order of the
    dashboard's `by_clinic` list, and the total."""

    by_clinic: list[int]
    total: int


class ExitCounts(ByClinic):
    """Exits of one kind and detail (docs/domain.md, "The pathway")."""

    kind: str
    kind_label: str
    detail: str
    detail_label: str
    label: str


class Retention(TypedDict):
    """Treatment episodes admitted in the range, followed to `as_of`: the curve, the
    bands of time in treatment, each clinic and the total, and exits by kind."""

    as_of: dt.date
    curve: list[CurvePoint]
    bands: list[Band]
    by_clinic: list[ClinicEpisodes]
    total: EpisodeSummary
    exits: list[ExitCounts]


# Outcomes -----------------------------------------------------------------------


class Share(TypedDict):
    """Tox screens positive among those that tested, and that share (percent; null
    when none tested)."""

    positive: int
    tested: int
    percent: float | None


class SubstanceShare(Share):
    substance: str


class MonthShares(TypedDict):
    """One month of samples: a cell for each substance, in the order of
    `substances`."""

    month: Month
    cells: list[SubstanceShare]


class ClinicShare(Share):
    """One clinic's street heroin markers over the whole range."""

    clinic: int
    name: str


class Outcomes(TypedDict):
    """The substances (code: label, street heroin markers first), the months, and
    the street heroin share by clinic (clinics with a screen in the range)."""

    substances: dict[str, str]
    rows: list[MonthShares]
    by_clinic: list[ClinicShare]


# Workload and safety ------------------------------------------------------------


class SafetyCounts(TypedDict):
    """In the date range, from the observations after doses (as amended)."""

    adverse_events: int
    over_sedation: int
    overdoses: int
    naloxone_given: int
    naloxone_mg: Decimal | int  # 0 when no naloxone was given
    ambulances: int


class Places(SafetyCounts):
    """Now: places against capacity, the waiting list, and people overdue a review
    or a tox screen. Occupancy is percent (null without capacity); the longest wait
    is in days (null when nobody waits)."""

    capacity: int
    taken: int
    suspended: int
    offered: int
    free: int
    occupancy: float | None
    waiting: int
    longest_wait_days: int | None
    reviews_overdue: int
    tox_overdue: int


class ClinicPlaces(Places):
    clinic: int
    name: str


class ChoiceCounts(ByClinic):
    """Counts for one choice (an alert kind, a withhold reason, a re-titration
    cause), every choice listed, zeros included."""

    code: str
    label: str


class AwayMonth(TypedDict):
    """One clinic's month of doses away from its room: take-home supplies, returns and
    lapses, and guest sessions hosted and away."""

    month: dt.date
    clinic: int
    name: str
    supplies: int
    doses_supplied: int
    returns: int
    doses_returned: int
    lapses: int
    guest_sessions_hosted: int
    guest_sessions_away: int


class Workload(TypedDict):
    """Each clinic and the total; open alerts by kind (now); withholds by reason and
    re-titrations by cause (in the range); take-home and guest dosing by month."""

    by_clinic: list[ClinicPlaces]
    total: Places
    alerts: list[ChoiceCounts]
    withholds: list[ChoiceCounts]
    retitrations: list[ChoiceCounts]
    away: list[AwayMonth]
