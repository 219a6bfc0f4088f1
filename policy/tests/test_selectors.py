import copy
import datetime as dt
import zoneinfo

import pytest
import yaml

from policy.loader import parse_policy
from policy.schema import ResponseTarget, Weekday
from policy.selectors import (
    ChatStatus,
    _span,
    channel_cards,
    chat_status,
    hours_sentences,
    published_promises,
    zone_label,
)

LAGOS = zoneinfo.ZoneInfo("Africa/Lagos")

with open("policies/izonie.yaml") as handle:
    IZONIE = yaml.safe_load(handle)


@pytest.fixture(scope="module")
def izonie():
    return parse_policy(copy.deepcopy(IZONIE))


def lagos(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LAGOS)


def test_chat_status_when_open(izonie):
    assert chat_status(izonie, lagos(2026, 11, 21, 10, 0)) == ChatStatus(
        open_now=True, closes_at=lagos(2026, 11, 21, 20, 0), next_open_at=None
    )


def test_chat_status_when_closed(izonie):
    assert chat_status(izonie, lagos(2026, 11, 21, 20, 30)) == ChatStatus(
        open_now=False, closes_at=None, next_open_at=lagos(2026, 11, 23, 8, 0)
    )


def test_chat_status_names_the_holiday(izonie):
    status = chat_status(izonie, lagos(2026, 12, 25, 12, 0))
    assert not status.open_now
    assert status.holiday == "Christmas Day"
    assert status.next_open_at == lagos(2026, 12, 29, 8, 0)


def test_chat_status_of_an_always_open_channel(izonie):
    status = chat_status(izonie, lagos(2026, 12, 25, 3, 0), channel="email")
    assert status == ChatStatus(open_now=True, closes_at=None, next_open_at=None)


def test_hours_read_as_sentences(izonie):
    assert hours_sentences(izonie.hours_for("live_chat")) == ["Monday – Saturday, 08:00 – 20:00"]
    assert hours_sentences(None) == ["any time, 24/7"]


def test_days_that_are_not_a_run_are_listed():
    data = copy.deepcopy(IZONIE)
    data["channels"]["live_chat"]["hours"] = [
        {"days": ["sat", "mon", "wed"], "open": "09:00", "close": "24:00"},
        {"days": ["tue", "thu"], "open": "10:30", "close": "12:00"},
    ]
    policy = parse_policy(data)
    assert hours_sentences(policy.hours_for("live_chat")) == [
        "Monday, Wednesday, Saturday, 09:00 – 24:00",
        "Tuesday, Thursday, 10:30 – 12:00",
    ]
    assert [day.label for day in (Weekday.MON, Weekday.SUN)] == ["Monday", "Sunday"]


def test_published_promises_are_the_four_of_the_policy(izonie):
    spans = {p.title: (p.span, p.during_business_hours) for p in published_promises(izonie)}
    assert spans == {
        "Live chat first response": ("2–5 minutes", True),
        "Email response": ("24 hours", False),
        "Dispute resolution with third-party sellers": ("3–5 business days", False),
        "Supervisor contact after an escalation": ("48 hours", False),
    }


def target(**changes) -> ResponseTarget:
    base = {
        "id": "t",
        "title": "T",
        "measure": "first_reply",
        "target": "1 hour",
        "breach": "1 hour",
        "clock": "calendar",
        "promise": "p",
    }
    return ResponseTarget.model_validate(base | changes)


@pytest.mark.parametrize(
    ("changes", "business", "expected"),
    [
        ({}, False, "1 hour"),
        ({"target": "1 day", "breach": "1 day"}, True, "1 business day"),
        ({"target": "30 minutes", "breach": "2 hours"}, False, "30 minutes to 2 hours"),
        ({"target": "1.5 hours", "breach": "4 hours"}, False, "1.5–4 hours"),
    ],
)
def test_spans(changes, business, expected):
    assert _span(target(**changes), business) == expected


def test_channel_cards_show_published_channels_with_their_promise(izonie):
    cards = {card.key: card for card in channel_cards(izonie)}
    assert list(cards) == ["live_chat", "email", "help_center", "facebook", "instagram", "tiktok"]
    assert cards["live_chat"].hours == ["Monday – Saturday, 08:00 – 20:00"]
    assert cards["live_chat"].first_reply is not None
    assert cards["live_chat"].first_reply.span == "2–5 minutes"
    assert cards["email"].hours == ["Write to us any time"]
    assert cards["email"].first_reply is not None
    assert cards["email"].first_reply.span == "24 hours"
    assert cards["help_center"].hours == ["Open 24/7"]
    assert cards["help_center"].first_reply is None
    # The social media promise is internal (published: false), so no card promises it.
    assert cards["facebook"].first_reply is None


def test_zone_label(izonie):
    assert zone_label(izonie, lagos(2026, 11, 21, 10)) == "Africa/Lagos time (WAT)"
    data = copy.deepcopy(IZONIE)
    data["calendar"]["time_zone"] = "Asia/Dubai"  # abbreviated "+04": left out
    assert zone_label(parse_policy(data), lagos(2026, 11, 21, 10)) == "Asia/Dubai time"
