"""Business-time arithmetic checked against a minute-by-minute oracle.

The oracle walks real minutes and asks ``policy.calendar.is_open`` (a separate,
straightforward implementation) whether each one is business time.
"""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.calendar import is_open as oracle_is_open
from policy.schema import BusinessCalendar, OpeningHours
from sla.business_time import BusinessClock

UTC = dt.UTC
MINUTE = dt.timedelta(minutes=1)

LAGOS = BusinessCalendar(
    time_zone="Africa/Lagos",
    weekly_hours=[
        OpeningHours(days=["mon", "tue", "wed", "thu", "fri", "sat"], open="08:00", close="20:00")
    ],
    holidays={"country": "NG", "extra": [{"date": "2026-12-24", "name": "Christmas Eve"}]},
)
# London changes its clocks; opening hours across 01:00-02:00 local make the
# transition days matter (the spring-forward hour does not exist, the autumn one twice).
LONDON = BusinessCalendar(
    time_zone="Europe/London",
    weekly_hours=[
        OpeningHours(
            days=["sun", "mon", "tue", "wed", "thu", "fri", "sat"], open="00:30", close="03:00"
        ),
        OpeningHours(days=["mon", "tue", "wed", "thu", "fri"], open="09:00", close="17:30"),
    ],
    holidays={"country": "GB", "subdivision": "ENG"},
)
CALENDARS = {"lagos": LAGOS, "london": LONDON}
CLOCKS = {
    name: BusinessClock(calendar, calendar.weekly_hours, first_year=2025, last_year=2027)
    for name, calendar in CALENDARS.items()
}

# Instants on whole minutes, including the 2026 DST changes in London (29 March, 25 October).
# hypothesis bounds are naive; the generated values are made aware (UTC) right after.
instants = st.datetimes(
    min_value=dt.datetime(2026, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2026, 12, 28),  # noqa: DTZ001
).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))
dst_instants = st.sampled_from(
    [
        dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 0, 45, tzinfo=UTC),
        dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ]
)
any_instant = st.one_of(instants, dst_instants)
calendar_names = st.sampled_from(sorted(CALENDARS))


def oracle_add(calendar, start, minutes):
    """Walk minute by minute until ``minutes`` open minutes have passed."""
    at, left = start, minutes
    if left == 0:
        while not oracle_is_open(calendar, calendar.weekly_hours, at):
            at += MINUTE
        return at
    while True:
        if oracle_is_open(calendar, calendar.weekly_hours, at):
            left -= 1
            if left == 0:
                return at + MINUTE
        at += MINUTE


def oracle_between(calendar, start, end):
    minutes, at = 0, start
    while at < end:
        minutes += oracle_is_open(calendar, calendar.weekly_hours, at)
        at += MINUTE
    return minutes * 60


fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(name=calendar_names, at=any_instant)
def test_is_open_matches_oracle(name, at):
    calendar = CALENDARS[name]
    assert CLOCKS[name].is_open(at) is oracle_is_open(calendar, calendar.weekly_hours, at)


@fast
@given(name=calendar_names, at=any_instant)
def test_next_opening_matches_oracle(name, at):
    assert CLOCKS[name].next_opening(at) == oracle_add(CALENDARS[name], at, 0)


@fast
@given(name=calendar_names, at=any_instant, minutes=st.integers(min_value=1, max_value=1500))
def test_add_business_minutes_matches_oracle(name, at, minutes):
    assert CLOCKS[name].add(at, minutes * 60) == oracle_add(CALENDARS[name], at, minutes)


@fast
@given(name=calendar_names, at=any_instant, span=st.integers(min_value=0, max_value=4 * 24 * 60))
def test_between_matches_oracle(name, at, span):
    end = at + dt.timedelta(minutes=span)
    clock = CLOCKS[name]
    assert clock.between(at, end) == oracle_between(CALENDARS[name], at, end)
    assert clock.between(end, at) == -clock.between(at, end)


@fast
@given(name=calendar_names, at=any_instant, minutes=st.integers(min_value=1, max_value=3000))
def test_add_then_between_round_trips(name, at, minutes):
    clock = CLOCKS[name]
    due = clock.add(at, minutes * 60)
    assert clock.between(at, due) == minutes * 60


def lagos(*args):
    return dt.datetime(*args, tzinfo=LAGOS.zone)


def test_three_business_days_from_a_sunday_message_is_thursday_opening():
    clock = CLOCKS["lagos"]
    # Sunday 22 November 2026: closed; the clock starts Monday 08:00.
    assert clock.add_business_days(lagos(2026, 11, 22, 15, 0), 3) == lagos(2026, 11, 26, 8, 0)


def test_business_days_keep_the_time_of_day_and_skip_holidays():
    clock = CLOCKS["lagos"]
    # Tuesday 22 Dec 14:30 + 3 business days, across Christmas Eve (an extra holiday in
    # this calendar) and Nigeria's Christmas and Boxing Day: exactly three open days pass.
    start = lagos(2026, 12, 22, 14, 30)
    due = clock.add_business_days(start, 3)
    open_days = [d for d in clock.business_dates if dt.date(2026, 12, 22) < d <= due.date()]
    assert len(open_days) == 3
    assert due.astimezone(LAGOS.zone).time() == dt.time(14, 30)
    assert clock.between(start, due) == 3 * 12 * 3600


def test_minute_before_closing_plus_two_minutes_lands_next_morning():
    clock = CLOCKS["lagos"]
    due = clock.add(lagos(2026, 11, 21, 19, 59), 2 * 60)  # Saturday 19:59
    assert due == lagos(2026, 11, 23, 8, 1)  # Monday 08:01


def test_always_open_clock_is_calendar_time():
    clock = BusinessClock(LAGOS, None)
    start = lagos(2026, 11, 22, 3, 0)
    assert clock.add(start, 86400) == start + dt.timedelta(days=1)
    assert clock.is_open(start)


def test_instants_far_outside_the_table_still_work():
    clock = BusinessClock(LAGOS, LAGOS.weekly_hours, first_year=2026, last_year=2026)
    assert clock.add(lagos(2031, 6, 2, 19, 0), 7200) == lagos(2031, 6, 3, 9, 0)


def test_negative_durations_are_refused():
    with pytest.raises(ValueError):
        CLOCKS["lagos"].add(lagos(2026, 11, 23, 9, 0), -1)
