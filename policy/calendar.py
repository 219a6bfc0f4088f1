"""When the support team (or a channel) is open, in the policy's time zone.

Instants are aware datetimes; weekly hours are local wall-clock times in the
calendar's zone, so daylight-saving changes are handled by ``zoneinfo``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator

import holidays as holidays_package

from policy.schema import BusinessCalendar, OpeningHours

_MAX_DAYS_AHEAD = 400


@functools.lru_cache(maxsize=32)
def _country_holidays(country: str, subdivision: str | None, year: int) -> dict[dt.date, str]:
    return dict(holidays_package.country_holidays(country, subdiv=subdivision, years=year))


def holiday_name(calendar: BusinessCalendar, day: dt.date) -> str | None:
    for extra in calendar.holidays.extra:
        if extra.date == day:
            return extra.name
    if calendar.holidays.country:
        return _country_holidays(
            calendar.holidays.country, calendar.holidays.subdivision, day.year
        ).get(day)
    return None


def _intervals_on(
    calendar: BusinessCalendar, hours: list[OpeningHours], day: dt.date
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Open intervals (aware, in the calendar's zone) on one local date."""
    if holiday_name(calendar, day) is not None:
        return
    zone = calendar.zone
    for row in hours:
        if any(weekday.number == day.weekday() for weekday in row.days):
            assert row.open is not None
            start = dt.datetime.combine(day, row.open, tzinfo=zone)
            if row.close is None:
                end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
            else:
                end = dt.datetime.combine(day, row.close, tzinfo=zone)
            yield start, end


def is_open(calendar: BusinessCalendar, hours: list[OpeningHours] | None, at: dt.datetime) -> bool:
    if hours is None:
        return True
    local = at.astimezone(calendar.zone)
    return any(start <= local < end for start, end in _intervals_on(calendar, hours, local.date()))


def next_opening(
    calendar: BusinessCalendar, hours: list[OpeningHours] | None, after: dt.datetime
) -> dt.datetime | None:
    """The first opening strictly after ``after`` (``None`` if always open or never)."""
    if hours is None:
        return None
    local = after.astimezone(calendar.zone)
    for offset in range(_MAX_DAYS_AHEAD):
        day = local.date() + dt.timedelta(days=offset)
        for start, _end in sorted(_intervals_on(calendar, hours, day)):
            if start > local:
                return start
    return None


def current_closing(
    calendar: BusinessCalendar, hours: list[OpeningHours] | None, at: dt.datetime
) -> dt.datetime | None:
    """When the interval that contains ``at`` ends, or ``None`` when closed or always open."""
    if hours is None:
        return None
    local = at.astimezone(calendar.zone)
    for start, end in _intervals_on(calendar, hours, local.date()):
        if start <= local < end:
            return end
    return None
