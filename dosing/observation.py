"""What follows an injection: when its observation is overdue, and the alert an
adverse event raises. Shared by the observation as recorded (dosing.room) and as
corrected (dosing.amendments)."""

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone

from alerts.models import AlertKind
from alerts.services import alert_close, alert_raise

from .effective import adverse_signs
from .models import DoseSession

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .effective import ObservationAsRead
    from .models import Observation


def observation_due_at(session: DoseSession, last_injected_at: dt.datetime) -> dt.datetime:
    policy = session.policy
    return last_injected_at + dt.timedelta(
        minutes=policy.observation_minutes + policy.observation_grace_minutes
    )


# The "observation not recorded" alert's cause: the session it is about. The overdue
# scan raises it (dosing.missed.observations_overdue_scan); the observation closes it.
OBSERVATION_OVERDUE_CAUSE = "observation:"


def observation_overdue_close(session: DoseSession, *, by: "User", now: dt.datetime) -> None:
    """Recorded late: the session's "observation not recorded" alert has its answer."""
    alert_close(
        kind=AlertKind.OBSERVATION_OVERDUE,
        cause_key=f"{OBSERVATION_OVERDUE_CAUSE}{session.pk}",
        by=by,
        note=f"Observation recorded at {timezone.localtime(now):%H:%M}.",
        now=now,
    )


def adverse_event_alert(
    session: DoseSession, observation: "Observation | ObservationAsRead", *, now: dt.datetime
) -> None:
    """docs/domain.md: an adverse event alerts prescribers and managers at once. One alert
    per session, whether recorded at the observation or by a correction of it."""
    signs = adverse_signs(observation)
    alert_raise(
        kind=AlertKind.ADVERSE_EVENT,
        clinic=session.clinic,
        service_user=session.service_user,
        session=session,
        cause_key=f"adverse:{session.pk}",
        detail=f"Adverse event after the {session.slot_code} dose on "
        f"{session.clinic_day:%d %b}{': ' + signs if signs else ''}. "
        f"{getattr(observation, 'details', '') or ''}".strip(),
        now=now,
    )
