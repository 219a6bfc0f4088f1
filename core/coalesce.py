"""Queue a background task at most once per burst, without asking the database.

Work that takes everything waiting when it runs (a drain of webhook deliveries, a refresh
of the report rollups) needs one run after a change, not one per change. A process that
queued such a run, planned to start later than now, knows the run will see what it
changes now: it skips the queueing (and the query or insert it costs).
"""

from __future__ import annotations

import datetime as dt
import threading

from django.utils import timezone


class PlannedRun:
    """The start time of the last run this process queued of one task."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._planned_for: dt.datetime | None = None
        _every.append(self)

    def plan(self, *, delay: dt.timedelta) -> dt.datetime | None:
        """The start time for a new run, or None when the one already queued, still to
        start (with half the delay to spare, for clocks between hosts), will do."""
        now = timezone.now()
        with self._lock:
            planned = self._planned_for
            if planned is not None and planned - now > delay / 2:
                return None
            self._planned_for = now + delay
            return self._planned_for

    def known(self, start: dt.datetime | None) -> None:
        """A run already queued (by another process, or by this one before it forgot)
        starts at ``start``: the changes until shortly before then need no run of their
        own, and no look-up either. None (as soon as possible) plans nothing."""
        with self._lock:
            self._planned_for = start

    def forget(self) -> None:
        with self._lock:
            self._planned_for = None


_every: list[PlannedRun] = []


def forget_planned_runs() -> None:
    """Tests: a test's queued runs vanish with its transaction, so the next test must not
    count on them."""
    for planned in _every:
        planned.forget()
