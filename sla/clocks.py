"""Which schedule a promise counts in, and how long its target is in seconds."""

from __future__ import annotations

from policy.loader import get_policy
from policy.schema import ClockKind, ResponseTarget, SupportPolicy
from sla.business_time import BusinessClock

# Built once per policy object and schedule; a reloaded policy gets fresh clocks.
_clocks: dict[tuple[int, str], tuple[SupportPolicy, BusinessClock]] = {}


def business_clock(hours_of: str = "") -> BusinessClock:
    """The business clock of a channel's hours, or of the team's calendar (``""``)."""
    policy = get_policy()
    key = (id(policy), hours_of)
    entry = _clocks.get(key)
    if entry is None or entry[0] is not policy:
        hours = policy.hours_for(hours_of) if hours_of else policy.calendar.weekly_hours
        entry = (policy, BusinessClock(policy.calendar, hours))
        _clocks[key] = entry
    return entry[1]


def business_day_seconds(policy: SupportPolicy, hours_of: str = "") -> float:
    """Length of an average open day of a schedule: what "one business day" is worth.

    Izonie's team works 08:00-20:00, so "3 business days" is 36 business hours, which
    lands at the same time of day three open days later.
    """
    hours = policy.hours_for(hours_of) if hours_of else policy.calendar.weekly_hours
    if hours is None:
        return 86400.0
    total = 0.0
    days: set[str] = set()
    for row in hours:
        assert row.open is not None
        close_minutes = 24 * 60 if row.close is None else row.close.hour * 60 + row.close.minute
        open_minutes = row.open.hour * 60 + row.open.minute
        total += (close_minutes - open_minutes) * 60 * len(row.days)
        days.update(row.days)
    return total / len(days)


def target_seconds(policy: SupportPolicy, target: ResponseTarget) -> tuple[int, int]:
    """(target, breach) in seconds of the clock's own time."""

    def seconds(duration_minutes: float, unit: str) -> int:
        if target.clock == ClockKind.BUSINESS and unit == "days":
            days = duration_minutes / (24 * 60)
            return round(days * business_day_seconds(policy, target.hours_of or ""))
        return round(duration_minutes * 60)

    return (
        seconds(target.target.minutes, target.target.unit),
        seconds(target.breach.minutes, target.breach.unit),
    )
