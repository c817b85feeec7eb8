"""Whether a service user meets the clinic's take-home criteria, each one met or not
with the evidence it rests on (docs/domain.md, "Take-home doses").

The answer is the same whenever the missed-dose scan last ran: a session whose window
has closed with no outcome counts as not taken, as the scan will mark it. The tox
screens are monitoring's records: monitoring registers the reader in its
AppConfig.ready(). Without one the criterion is not met, never met by default."""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Q
from django.utils import timezone

from core.hooks import Hooks
from eligibility.models import ClinicPolicy, Level, Status, StatusChange, TakeHomeCriterion
from eligibility.models.take_home_policy import weeks
from eligibility.selectors import policy_in_force

from .models import DoseSession, Observation, SessionStatus, WithholdReason
from .models.sessions import COUNTS_AS_TAKEN, NOT_TAKEN_STATUSES, OPEN_SESSION_STATUSES

if TYPE_CHECKING:
    from eligibility.models import ServiceUser

# reader(service_user=, count=, at=) -> the latest `count` screens sampled by `at`, newest
# first, each as (sample date, street-heroin marker found).
ToxReader = Callable[..., Sequence[tuple[dt.date, bool]]]
_tox_readers = Hooks()
register_tox_reader = _tox_readers.register

RETITRATION = (Status.RETITRATION_REQUIRED, Status.RETITRATION)
# Each criterion's answer: met or not, and the evidence it rests on.
Verdict = tuple[bool, str]


@dataclass(frozen=True)
class CriterionResult:
    code: str
    asks: str
    level: str
    met: bool
    evidence: str


@dataclass(frozen=True)
class TakeHomeEligibility:
    """The criteria of the policy in force, those switched off left out."""

    policy: ClinicPolicy
    criteria: tuple[CriterionResult, ...]

    @property
    def blocking(self) -> tuple[CriterionResult, ...]:
        """Required and not met: no take-home prescription while any is."""
        return tuple(c for c in self.criteria if c.level == Level.REQUIRED and not c.met)

    @property
    def needing_reason(self) -> tuple[CriterionResult, ...]:
        """Advisory and not met: a prescription needs the prescriber's written reason."""
        return tuple(c for c in self.criteria if c.level == Level.ADVISORY and not c.met)

    @property
    def eligible(self) -> bool:
        return not self.blocking


def _day(value: dt.date) -> str:
    return f"{value:%-d %b %Y}"


def _maintenance(service_user: "ServiceUser", policy: ClinicPolicy, at: dt.datetime) -> Verdict:
    """Weeks in maintenance, unbroken: from the last change into it."""
    needed = policy.take_home_maintenance_weeks
    if service_user.status != Status.MAINTENANCE:
        return (
            False,
            f"Not in maintenance: the status is {service_user.get_status_display().lower()}.",
        )
    since = (
        StatusChange.objects.filter(
            service_user=service_user, to_status=Status.MAINTENANCE, changed_at__lte=at
        )
        .order_by("-changed_at", "-id")
        .values_list("changed_at", flat=True)
        .first()
    )
    if since is None:
        return False, "No change into maintenance is recorded."
    held = (at - since).days // 7
    started = _day(timezone.localtime(since, service_user.clinic.zone).date())
    text = f"In maintenance since {started}: {weeks(held)} ({needed} needed)."
    return held >= needed, text


def _adherence(
    service_user: "ServiceUser", policy: ClinicPolicy, at: dt.datetime, since: dt.datetime
) -> Verdict:
    """Sessions taken (a take-home dose among them) of those that had an outcome, or
    whose window closed without one, over the recent weeks. Excused sessions, and those
    dosed at another clinic (counted there), are not counted."""
    counts = DoseSession.objects.filter(
        service_user=service_user, closes_at__gt=since, closes_at__lte=at
    ).aggregate(
        taken=Count("pk", filter=Q(status__in=COUNTS_AS_TAKEN)),
        not_taken=Count("pk", filter=Q(status__in=(*NOT_TAKEN_STATUSES, *OPEN_SESSION_STATUSES))),
    )
    taken, due = counts["taken"], counts["taken"] + counts["not_taken"]
    recent = weeks(policy.take_home_recent_weeks)
    if not due:
        return False, f"No sessions due in the last {recent}."
    percent = 100 * taken / due
    # Rounded down, so that a share just short of the mark never reads as meeting it.
    text = (
        f"{taken} of {due} sessions taken in the last {recent} ({int(percent)}%; "
        f"{policy.take_home_adherence_percent}% needed)."
    )
    return percent >= policy.take_home_adherence_percent, text


def _clean_tox(service_user: "ServiceUser", policy: ClinicPolicy, at: dt.datetime) -> Verdict:
    needed = policy.take_home_tox_screens
    if not list(_tox_readers):
        return False, "Tox screens cannot be read here."
    screens: list[tuple[dt.date, bool]] = []
    for reader in _tox_readers:
        screens.extend(reader(service_user=service_user, count=needed, at=at))
    positive = [_day(day) for day, street_heroin in screens if street_heroin]
    dates = ", ".join(_day(day) for day, _ in screens)
    if positive:
        return False, f"Street-heroin marker on {', '.join(positive)} (latest screens: {dates})."
    if len(screens) < needed:
        found = f"only {len(screens)}: {dates}" if screens else "none"
        return False, f"{needed} tox screens needed; recorded, {found}."
    return True, f"No street-heroin marker in the last {needed} screens: {dates}."


def _no_adverse_event(
    service_user: "ServiceUser", policy: ClinicPolicy, since: dt.datetime
) -> Verdict:
    zone = service_user.clinic.zone
    events = [
        f"adverse event on {_day(timezone.localtime(observed, zone).date())}"
        for observed in Observation.objects.filter(
            session__service_user=service_user,
            outcome=Observation.Outcome.ADVERSE_EVENT,
            observed_at__gt=since,
        )
        .order_by("observed_at")
        .values_list("observed_at", flat=True)
    ] + [
        f"withheld for sedation on {_day(day)}"
        for day in DoseSession.objects.filter(
            service_user=service_user,
            status=SessionStatus.WITHHELD,
            outcome_reason=WithholdReason.SEDATION,
            closes_at__gt=since,
        )
        .order_by("opens_at")
        .values_list("clinic_day", flat=True)
    ]
    recent = weeks(policy.take_home_recent_weeks)
    if events:
        return False, f"In the last {recent}: {'; '.join(events)}."
    return True, f"No adverse event or sedation withhold in the last {recent}."


def _no_retitration(
    service_user: "ServiceUser", policy: ClinicPolicy, since: dt.datetime
) -> Verdict:
    recent = weeks(policy.take_home_recent_weeks)
    if service_user.status in RETITRATION:
        return False, f"The status is {service_user.get_status_display().lower()}."
    changed = list(
        StatusChange.objects.filter(
            service_user=service_user, to_status__in=RETITRATION, changed_at__gt=since
        )
        .order_by("changed_at")
        .values_list("changed_at", flat=True)
    )
    if changed:
        zone = service_user.clinic.zone
        days = ", ".join(_day(timezone.localtime(c, zone).date()) for c in changed)
        return False, f"Re-titration in the last {recent}: {days}."
    return True, f"No re-titration in the last {recent}."


def _weekly_maximum(policy: ClinicPolicy, doses_per_week: int | None) -> Verdict:
    most = policy.take_home_max_per_week
    if doses_per_week is None:
        return True, f"Up to {most} take-home doses a week may be prescribed."
    text = f"{doses_per_week} take-home doses in a week; at most {most}."
    return doses_per_week <= most, text


def take_home_eligibility(
    *,
    service_user: "ServiceUser",
    at: dt.datetime | None = None,
    doses_per_week: int | None = None,
) -> TakeHomeEligibility:
    """Each criterion of the policy in force at `at` that is not off: met or not, and
    why. `doses_per_week`, for a prescription being written, is checked against the
    weekly maximum."""
    at = at or timezone.now()
    policy = policy_in_force(clinic=service_user.clinic, at=at)
    since = at - dt.timedelta(weeks=policy.take_home_recent_weeks)
    asks = {code: text for code, text, _ in policy.take_home_terms()}
    evaluate: dict[str, Callable[[], Verdict]] = {
        TakeHomeCriterion.MAINTENANCE: lambda: _maintenance(service_user, policy, at),
        TakeHomeCriterion.ADHERENCE: lambda: _adherence(service_user, policy, at, since),
        TakeHomeCriterion.CLEAN_TOX: lambda: _clean_tox(service_user, policy, at),
        TakeHomeCriterion.NO_ADVERSE_EVENT: lambda: _no_adverse_event(service_user, policy, since),
        TakeHomeCriterion.NO_RETITRATION: lambda: _no_retitration(service_user, policy, since),
        TakeHomeCriterion.WEEKLY_MAXIMUM: lambda: _weekly_maximum(policy, doses_per_week),
    }
    results = []
    for criterion in TakeHomeCriterion:
        level = policy.take_home_levels.get(criterion.value, Level.REQUIRED)
        if level == Level.OFF:
            continue
        met, evidence = evaluate[criterion.value]()
        results.append(
            CriterionResult(
                code=criterion.value,
                asks=asks[criterion.value],
                level=level,
                met=met,
                evidence=evidence,
            )
        )
    return TakeHomeEligibility(policy=policy, criteria=tuple(results))
