"""Monitoring records and alerts (to come), and the scheduler's heartbeat."""

from django.db import models


class Heartbeat(models.Model):
    """When a periodic job last ran. Missed-dose detection depends on beat and a
    worker being alive; a stale heartbeat is how staff can tell they are not."""

    name = models.CharField(max_length=80, unique=True)
    last_seen_at = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} at {self.last_seen_at:%Y-%m-%d %H:%M:%S}"
