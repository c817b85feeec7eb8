import datetime as dt

from django.db.models import F
from django.utils import timezone

from .models import Heartbeat


def heartbeat_record(*, name: str, now: dt.datetime | None = None) -> None:
    """Note that a periodic job ran. A conditional update, then an insert on first run,
    so that two workers beating at once never lose a count."""
    now = now or timezone.now()
    updated = Heartbeat.objects.filter(name=name).update(last_seen_at=now, runs=F("runs") + 1)
    if not updated:
        Heartbeat.objects.update_or_create(
            name=name,
            defaults={"last_seen_at": now},
            create_defaults={"last_seen_at": now, "runs": 1},
        )
