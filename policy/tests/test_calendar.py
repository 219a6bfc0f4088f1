"""Business calendar: when live chat (or any channel with hours) is open.

Dates are chosen against the Nigerian holiday list of the ``holidays`` package, and
each test asserts the assumption it relies on, so a change in that list fails loudly.
"""

import copy
import datetime as dt
import zoneinfo

import holidays
import pytest
import yaml

from policy.calendar import current_closing, holiday_name, is_open, next_opening
from policy.loader import parse_policy

LAGOS = zoneinfo.ZoneInfo("Africa/Lagos")
NIGERIA_2026 = holidays.country_holidays("NG", years=2026)

with open("policies/izonie.yaml") as handle:
    IZONIE = yaml.safe_load(handle)


def lagos(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LAGOS)


def policy_with(change=None):
    data = copy.deepcopy(IZONIE)
    if change is not None:
        change(data)
    return parse_policy(data)


@pytest.fixture(scope="module")
def izonie():
    return policy_with()


def chat_open(policy, at: dt.datetime) -> bool:
    return is_open(policy.calendar, policy.hours_for("live_chat"), at)


# Saturday 21 and Monday 23 November 2026: ordinary working days in Nigeria.
SATURDAY = dt.date(2026, 11, 21)
MONDAY = dt.date(2026, 11, 23)


def test_chosen_dates_are_ordinary_days():
    assert SATURDAY.weekday() == 5 and MONDAY.weekday() == 0
    assert SATURDAY not in NIGERIA_2026
    assert MONDAY not in NIGERIA_2026


def test_open_saturday_morning_in_lagos(izonie):
    assert chat_open(izonie, lagos(2026, 11, 21, 10, 0))
    assert current_closing(
        izonie.calendar, izonie.hours_for("live_chat"), lagos(2026, 11, 21, 10)
    ) == (lagos(2026, 11, 21, 20, 0))


def test_the_same_instant_in_another_zone_is_judged_in_lagos_time(izonie):
    # 07:30 UTC is 08:30 in Lagos (UTC+1): open. 06:30 UTC is 07:30 in Lagos: not yet.
    assert chat_open(izonie, dt.datetime(2026, 11, 21, 7, 30, tzinfo=dt.UTC))
    assert not chat_open(izonie, dt.datetime(2026, 11, 21, 6, 30, tzinfo=dt.UTC))


def test_opening_and_closing_minutes(izonie):
    assert not chat_open(izonie, lagos(2026, 11, 21, 7, 59))
    assert chat_open(izonie, lagos(2026, 11, 21, 8, 0))
    assert chat_open(izonie, lagos(2026, 11, 21, 19, 59))
    assert not chat_open(izonie, lagos(2026, 11, 21, 20, 0))


def test_closed_all_sunday(izonie):
    for hour in (0, 8, 12, 19, 23):
        assert not chat_open(izonie, lagos(2026, 11, 22, hour, 0))


def test_next_opening_after_saturday_evening_is_monday_morning(izonie):
    after = lagos(2026, 11, 21, 20, 30)
    assert next_opening(izonie.calendar, izonie.hours_for("live_chat"), after) == (
        lagos(2026, 11, 23, 8, 0)
    )


def test_next_opening_the_same_morning_and_strictly_after(izonie):
    hours = izonie.hours_for("live_chat")
    assert next_opening(izonie.calendar, hours, lagos(2026, 11, 23, 6, 0)) == lagos(2026, 11, 23, 8)
    # At 08:00 exactly chat is already open; the next opening is the following day.
    assert next_opening(izonie.calendar, hours, lagos(2026, 11, 23, 8, 0)) == lagos(2026, 11, 24, 8)


def test_easter_monday_pushes_the_next_opening_to_tuesday(izonie):
    easter_monday = dt.date(2026, 4, 6)
    assert NIGERIA_2026.get(easter_monday) == "Easter Monday"
    after = lagos(2026, 4, 4, 20, 30)  # Saturday evening
    assert next_opening(izonie.calendar, izonie.hours_for("live_chat"), after) == (
        lagos(2026, 4, 7, 8, 0)
    )


def test_christmas_holidays_close_chat_for_days(izonie):
    # Christmas Friday, Boxing Day Saturday, and Boxing Day observed on Monday 28th.
    for day in (dt.date(2026, 12, 25), dt.date(2026, 12, 26), dt.date(2026, 12, 28)):
        assert day in NIGERIA_2026
        assert not chat_open(izonie, dt.datetime.combine(day, dt.time(12), tzinfo=LAGOS))
    after = lagos(2026, 12, 24, 20, 30)
    assert next_opening(izonie.calendar, izonie.hours_for("live_chat"), after) == (
        lagos(2026, 12, 29, 8, 0)
    )
    assert holiday_name(izonie.calendar, dt.date(2026, 12, 25)) == "Christmas Day"


def test_an_extra_holiday_closes_chat():
    tuesday = dt.date(2026, 11, 24)
    assert tuesday not in NIGERIA_2026
    assert chat_open(policy_with(), lagos(2026, 11, 24, 12, 0))

    def company_day(d):
        d["calendar"]["holidays"]["extra"] = [{"date": "2026-11-24", "name": "Company day"}]

    policy = policy_with(company_day)
    assert not chat_open(policy, lagos(2026, 11, 24, 12, 0))
    assert holiday_name(policy.calendar, tuesday) == "Company day"
    assert next_opening(
        policy.calendar, policy.hours_for("live_chat"), lagos(2026, 11, 23, 21)
    ) == (lagos(2026, 11, 25, 8, 0))
    assert (
        current_closing(policy.calendar, policy.hours_for("live_chat"), lagos(2026, 11, 24, 12))
        is None
    )


def test_without_a_holiday_country_only_the_weekly_hours_count():
    policy = policy_with(lambda d: d["calendar"]["holidays"].update(country=None))
    assert chat_open(policy, lagos(2026, 12, 25, 12, 0))


def test_always_open_channels(izonie):
    christmas_midnight = lagos(2026, 12, 25, 0, 0)
    for key in ("email", "help_center", "facebook"):
        hours = izonie.hours_for(key)
        assert hours is None
        assert is_open(izonie.calendar, hours, christmas_midnight)
        assert next_opening(izonie.calendar, hours, christmas_midnight) is None
        assert current_closing(izonie.calendar, hours, christmas_midnight) is None


def test_hours_that_run_to_midnight_and_several_rows():
    def split_week(d):
        d["channels"]["live_chat"]["hours"] = [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "08:00", "close": "24:00"},
            {"days": ["sun"], "open": "12:00", "close": "16:00"},
        ]

    policy = policy_with(split_week)
    hours = policy.hours_for("live_chat")
    assert chat_open(policy, lagos(2026, 11, 23, 23, 59))
    assert current_closing(policy.calendar, hours, lagos(2026, 11, 23, 23)) == lagos(2026, 11, 24)
    assert not chat_open(policy, lagos(2026, 11, 21, 12, 0))  # Saturday: no row
    assert chat_open(policy, lagos(2026, 11, 22, 12, 0))  # Sunday noon
    assert next_opening(policy.calendar, hours, lagos(2026, 11, 21, 9)) == lagos(2026, 11, 22, 12)


def test_daylight_saving_is_followed_in_zones_that_have_it():
    def london(d):
        d["calendar"]["time_zone"] = "Europe/London"
        d["calendar"]["holidays"]["country"] = "GB"

    policy = policy_with(london)
    hours = policy.hours_for("live_chat")
    # Clocks go forward on Sunday 29 March 2026: 08:00 on Monday is 07:00 UTC, not 08:00.
    opening = next_opening(policy.calendar, hours, dt.datetime(2026, 3, 28, 21, tzinfo=dt.UTC))
    assert opening is not None
    assert opening.astimezone(dt.UTC) == dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)
