"""Running SLA clocks that lost their timer (core.sweeper).

Timers are chained tasks, each enqueued on commit of the change that set the moment; a
process that dies between that commit and its hook leaves a running clock that will
never warn nor breach. These are found and given their next timer again; a timer checks
the clock under a lock, so a duplicate does nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from core.task_recovery import live_task_ids
from sla.models import ClockStatus, SlaClock

# The one place that knows which moment comes next; a sweep must not duplicate it.
from sla.services import _schedule_timers

TIMER_TASK = "sla.tasks.sla_clock_fire"


def clock_orphans(*, grace: dt.timedelta) -> list[SlaClock]:
    """Running clocks, set longer than ``grace`` ago and not yet breached, with no timer
    waiting or running. The sweep reschedules them; bench/chaos.py counts them."""
    cutoff = timezone.now() - grace
    clocks = list(
        SlaClock.objects.filter(
            status=ClockStatus.RUNNING, breached_at__isnull=True, breach_at__isnull=False
        ).filter(
            Q(segment_started_at__lt=cutoff)
            | Q(segment_started_at__isnull=True, started_at__lt=cutoff)
        )
    )
    if not clocks:
        return []
    timed = live_task_ids(task_path=TIMER_TASK, key="clock_id")
    return [clock for clock in clocks if clock.pk not in timed]


def clocks_reschedule_orphans(*, grace: dt.timedelta) -> int:
    """Schedule the next timer of each of ``clock_orphans``. Returns how many."""
    orphans = clock_orphans(grace=grace)
    for clock in orphans:
        _schedule_timers(clock)
    return len(orphans)
