"""The clinic's take-home criteria: what a service user must show before a prescriber
may prescribe doses to take away. Each is required, advisory or off in the policy,
like the eligibility checklist; the numbers they use are policy values too."""

from django.db import models

from .pathway import Level, check_levels


class TakeHomeCriterion(models.TextChoices):
    """docs/domain.md's take-home criteria, in the order the form shows them."""

    MAINTENANCE = "maintenance", "Weeks in maintenance"
    ADHERENCE = "adherence", "Attendance over the recent weeks"
    CLEAN_TOX = "clean_tox", "No street-heroin marker in the last tox screens"
    NO_ADVERSE_EVENT = "no_adverse_event", "No adverse event or sedation withhold recently"
    NO_RETITRATION = "no_retitration", "No re-titration recently"
    WEEKLY_MAXIMUM = "weekly_maximum", "Take-home doses within the weekly maximum"


def weeks(n: int) -> str:
    """A number of weeks as the criteria say it: "1 week", "4 weeks"."""
    return "1 week" if n == 1 else f"{n} weeks"


def default_take_home_levels() -> dict[str, str]:
    """Every criterion required: a clinic relaxes one only by a stated policy change."""
    return dict.fromkeys(TakeHomeCriterion.values, Level.REQUIRED.value)


def validate_take_home_levels(value) -> None:
    check_levels(value, TakeHomeCriterion, "take-home")
