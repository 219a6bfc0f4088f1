"""Reads of SLA clocks for the console and the reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sla.models import ClockStatus, SlaClock


@dataclass(frozen=True)
class ClockRow:
    clock: SlaClock
    state: str  # "ok", "warning", "overdue" (past target), "breached"
    seconds_left: float  # to the target; negative once it has passed


def clock_state(clock: SlaClock, now: dt.datetime) -> str:
    if clock.breach_at and now >= clock.breach_at:
        return "breached"
    if clock.due_at and now >= clock.due_at:
        return "overdue"
    if clock.warn_at and now >= clock.warn_at:
        return "warning"
    return "ok"


def clocks_due_soon(*, now: dt.datetime, limit: int = 200) -> list[ClockRow]:
    """Running clocks ordered by their target moment (index ``due_at``)."""
    clocks = (
        SlaClock.objects.filter(status=ClockStatus.RUNNING, due_at__isnull=False)
        .select_related("ticket", "ticket__assignee")
        .order_by("due_at")[:limit]
    )
    return [
        ClockRow(
            clock=clock,
            state=clock_state(clock, now),
            seconds_left=(clock.due_at - now).total_seconds() if clock.due_at else 0.0,
        )
        for clock in clocks
    ]
