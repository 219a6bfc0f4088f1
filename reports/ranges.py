"""The date range of a report: whole days in the support team's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import timezone

from reports.rollups import team_zone

MAX_DAYS = 5 * 366
DEFAULT_DAYS = 30


class RangeError(ValueError):
    """A range a report refuses, with the message shown to the user."""


@dataclass(frozen=True)
class DateRange:
    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range(self.days)]

    def query(self) -> str:
        return f"from={self.first.isoformat()}&to={self.last.isoformat()}"


def _parse(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise RangeError(
            f"“{value[:40]}” is not a date for “{name}”: use the form YYYY-MM-DD."
        ) from None


def parse_range(params: Mapping[str, str], *, today: dt.date | None = None) -> DateRange:
    """The range in ``from``/``to`` (YYYY-MM-DD, team time zone); the last 30 days if absent."""
    today = today or timezone.localdate(timezone.now(), team_zone())
    raw_first, raw_last = params.get("from", "").strip(), params.get("to", "").strip()
    last = _parse(raw_last, "to") if raw_last else today
    first = _parse(raw_first, "from") if raw_first else last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise RangeError(f"The range ends ({last}) before it starts ({first}).")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeError("A report covers at most 5 years; choose a shorter range.")
    return DateRange(first=first, last=last)
