"""Business-time arithmetic on a policy's calendar: fast enough for every deadline.

A ``BusinessClock`` lays the open intervals of a weekly schedule (minus holidays)
out as flat arrays of UTC epoch seconds, with the business seconds accumulated
before each interval. Every operation is then a binary search:

- ``is_open(t)`` / ``next_opening(t)``;
- ``add(t, seconds)``: the instant ``seconds`` of business time after ``t``;
- ``between(a, b)``: business seconds from ``a`` to ``b``;
- ``add_business_days(t, n)``: the same local time ``n`` business days later.

Intervals are computed from local wall-clock times with ``zoneinfo``, so a day on
which the clocks change is as long as it really is. The table covers a window of
years around "now" and grows on demand.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterator

from policy.calendar import holiday_name
from policy.schema import BusinessCalendar, OpeningHours

_UTC = dt.UTC


class BusinessClock:
    def __init__(
        self,
        calendar: BusinessCalendar,
        hours: list[OpeningHours] | None,
        *,
        first_year: int | None = None,
        last_year: int | None = None,
    ):
        self.calendar = calendar
        self.hours = hours
        this_year = dt.datetime.now(_UTC).year
        self._first_year = first_year if first_year is not None else this_year - 2
        self._last_year = last_year if last_year is not None else this_year + 3
        self._build()

    # --- The table

    def _local_intervals(self) -> Iterator[tuple[dt.date, float, float]]:
        zone = self.calendar.zone
        day = dt.date(self._first_year, 1, 1)
        end = dt.date(self._last_year + 1, 1, 1)
        one_day = dt.timedelta(days=1)
        assert self.hours is not None
        while day < end:
            if holiday_name(self.calendar, day) is None:
                spans = []
                for row in self.hours:
                    if any(weekday.number == day.weekday() for weekday in row.days):
                        assert row.open is not None
                        start = dt.datetime.combine(day, row.open, tzinfo=zone)
                        if row.close is None:
                            finish = dt.datetime.combine(day + one_day, dt.time(0), tzinfo=zone)
                        else:
                            finish = dt.datetime.combine(day, row.close, tzinfo=zone)
                        spans.append((start.timestamp(), finish.timestamp()))
                for start_ts, finish_ts in sorted(spans):
                    yield day, start_ts, finish_ts
            day += one_day

    def _build(self) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []
        # Business seconds accumulated before each interval starts.
        self.before: list[float] = []
        # Index of the first interval of each business day, for day arithmetic.
        self.day_first_interval: list[int] = []
        self.business_dates: list[dt.date] = []
        # Business seconds accumulated at the end of each interval.
        self.cum_end: list[float] = []
        self._total = 0.0
        if self.hours is None:
            return
        total = 0.0
        for day, start_ts, finish_ts in self._local_intervals():
            if self.ends and start_ts <= self.ends[-1]:
                # Overlapping or touching rows on the same day merge into one interval.
                if finish_ts > self.ends[-1]:
                    total += finish_ts - self.ends[-1]
                    self.ends[-1] = finish_ts
                    self.cum_end[-1] = total
                continue
            if not self.business_dates or self.business_dates[-1] != day:
                self.business_dates.append(day)
                self.day_first_interval.append(len(self.starts))
            self.starts.append(start_ts)
            self.ends.append(finish_ts)
            self.before.append(total)
            total += finish_ts - start_ts
            self.cum_end.append(total)
        self._total = total

    def _cover(self, ts: float) -> None:
        """Grow the table when an instant falls outside it."""
        year = dt.datetime.fromtimestamp(ts, _UTC).year
        if year - 1 < self._first_year or year + 1 > self._last_year:
            self._first_year = min(self._first_year, year - 1)
            self._last_year = max(self._last_year, year + 1)
            self._build()

    # --- Queries

    @property
    def always_open(self) -> bool:
        return self.hours is None

    def _elapsed_at(self, ts: float) -> float:
        """Business seconds from the start of the table up to ``ts``."""
        index = bisect.bisect_right(self.starts, ts) - 1
        if index < 0:
            return 0.0
        return self.before[index] + min(ts, self.ends[index]) - self.starts[index]

    def is_open(self, at: dt.datetime) -> bool:
        if self.hours is None:
            return True
        ts = at.timestamp()
        self._cover(ts)
        index = bisect.bisect_right(self.starts, ts) - 1
        return index >= 0 and ts < self.ends[index]

    def next_opening(self, at: dt.datetime) -> dt.datetime:
        """``at`` itself when open, else the next moment the schedule opens."""
        if self.hours is None:
            return at
        ts = at.timestamp()
        self._cover(ts)
        index = bisect.bisect_right(self.starts, ts) - 1
        if index >= 0 and ts < self.ends[index]:
            return at
        if index + 1 >= len(self.starts):
            self._last_year += 5
            self._build()
            return self.next_opening(at)
        return dt.datetime.fromtimestamp(self.starts[index + 1], _UTC)

    def add(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The instant at which ``seconds`` of business time have passed since ``start``.

        A clock that starts outside business hours starts at the next opening.
        """
        if seconds < 0:
            raise ValueError("business time cannot run backwards")
        if self.hours is None:
            return start + dt.timedelta(seconds=seconds)
        if seconds == 0:
            return self.next_opening(start)
        ts = start.timestamp()
        self._cover(ts)
        target = self._elapsed_at(ts) + seconds
        if target > self._total:
            self._last_year += 5
            self._build()
            return self.add(start, seconds)
        return self._at_elapsed(target)

    def between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Business seconds from ``start`` to ``end`` (negative if ``end`` is earlier)."""
        if self.hours is None:
            return (end - start).total_seconds()
        a, b = start.timestamp(), end.timestamp()
        self._cover(a)
        self._cover(b)
        return self._elapsed_at(b) - self._elapsed_at(a)

    def add_business_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """``days`` business days after ``start``: the same business time into the day.

        A clock that starts outside hours starts at the next opening: a request sent on
        Sunday with a three-business-day target is due on Thursday at opening time.
        """
        if days < 0:
            raise ValueError("business days cannot be negative")
        if self.hours is None:
            return start + dt.timedelta(days=days)
        begin = self.next_opening(start)
        ts = begin.timestamp()
        self._cover(ts)
        interval = bisect.bisect_right(self.starts, ts) - 1
        day_index = bisect.bisect_right(self.day_first_interval, interval) - 1
        into_day = self._elapsed_at(ts) - self.before[self.day_first_interval[day_index]]
        target_day = day_index + days
        if target_day >= len(self.day_first_interval):
            self._last_year += 5
            self._build()
            return self.add_business_days(start, days)
        first = self.day_first_interval[target_day]
        if into_day == 0:
            return dt.datetime.fromtimestamp(self.starts[first], _UTC)
        day_end = (
            self.before[self.day_first_interval[target_day + 1]]
            if target_day + 1 < len(self.day_first_interval)
            else self._total
        )
        # A shorter target day (Saturday's hours, say) ends the clock at its closing.
        target = min(self.before[first] + into_day, day_end)
        return self._at_elapsed(target)

    def _at_elapsed(self, target: float) -> dt.datetime:
        """The first instant at which ``target`` business seconds have accumulated."""
        index = bisect.bisect_left(self.cum_end, target)
        return dt.datetime.fromtimestamp(self.starts[index] + target - self.before[index], _UTC)
