"""Reads of the policy shaped for pages: live-chat status, hours as sentences, promises."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from policy.calendar import current_closing, holiday_name, is_open, next_opening
from policy.schema import (
    ChannelPolicy,
    ClockKind,
    Measure,
    OpeningHours,
    ResponseTarget,
    SupportPolicy,
    Weekday,
)


@dataclass(frozen=True)
class ChatStatus:
    open_now: bool
    closes_at: dt.datetime | None
    next_open_at: dt.datetime | None
    # Name of the public holiday that closes the channel today, if one does.
    holiday: str | None = None


def chat_status(policy: SupportPolicy, at: dt.datetime, channel: str = "live_chat") -> ChatStatus:
    """Whether ``channel`` is open at ``at``; until when if it is, when it next opens if not.

    ``at`` is passed in (the view gives ``timezone.now()``) so tests can pick the moment.
    """
    hours = policy.hours_for(channel)
    if is_open(policy.calendar, hours, at):
        return ChatStatus(True, current_closing(policy.calendar, hours, at), None)
    today = at.astimezone(policy.calendar.zone).date()
    return ChatStatus(
        False,
        None,
        next_opening(policy.calendar, hours, at),
        holiday=holiday_name(policy.calendar, today),
    )


def _day_range(days: list[Weekday]) -> str:
    """Consecutive weekdays as a range ("Monday – Saturday"), others listed."""
    numbers = sorted(day.number for day in days)
    ordered = sorted(days, key=lambda day: day.number)
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{ordered[0].label} – {ordered[-1].label}"
    return ", ".join(day.label for day in ordered)


def hours_sentences(hours: list[OpeningHours] | None) -> list[str]:
    if hours is None:
        return ["any time, 24/7"]
    return [
        f"{_day_range(row.days)}, {row.open:%H:%M} – {row.close_label}"
        for row in hours
        if row.open is not None
    ]


def _span(target: ResponseTarget, business_clock: bool) -> str:
    """ "2–5 minutes" when target and breach differ, "24 hours" when they are one."""
    unit: str = target.target.unit
    if business_clock and unit == "days":
        unit = "business days"
    low, high = f"{target.target.amount:g}", f"{target.breach.amount:g}"
    if target.target == target.breach:
        single = unit[:-1] if target.target.amount == 1 else unit
        return f"{low} {single}"
    if target.target.unit == target.breach.unit:
        return f"{low}–{high} {unit}"
    return f"{target.target} to {target.breach}"


@dataclass(frozen=True)
class PublishedPromise:
    id: str
    title: str
    span: str
    promise: str
    during_business_hours: bool


def _promise(target: ResponseTarget) -> PublishedPromise:
    business = target.clock == ClockKind.BUSINESS
    return PublishedPromise(
        id=target.id,
        title=target.title,
        span=_span(target, business),
        promise=target.promise,
        # "3–5 business days" says so itself; minutes and hours need the words added.
        during_business_hours=business and target.target.unit != "days",
    )


def published_promises(policy: SupportPolicy) -> list[PublishedPromise]:
    return [_promise(target) for target in policy.response_targets if target.published]


@dataclass(frozen=True)
class ChannelCard:
    """One published channel as the public page shows it."""

    key: str
    channel: ChannelPolicy
    # "Monday – Saturday, 08:00 – 20:00" rows, or one sentence for an always-open channel.
    hours: list[str]
    has_weekly_hours: bool
    # The published first-response promise on this channel, if there is one.
    first_reply: PublishedPromise | None


def _availability(channel: ChannelPolicy) -> list[str]:
    if channel.hours is not None:
        return hours_sentences(channel.hours)
    if channel.conversational:
        # Messages can be sent at any time; how soon they are answered is the promise's job.
        return ["Write to us any time"]
    return ["Open 24/7"]


def _first_reply_promise(policy: SupportPolicy, channel_key: str) -> PublishedPromise | None:
    for target in policy.response_targets:
        if (
            target.published
            and target.measure == Measure.FIRST_REPLY
            and channel_key in target.applies_to.channels
        ):
            return _promise(target)
    return None


def channel_cards(policy: SupportPolicy) -> list[ChannelCard]:
    return [
        ChannelCard(
            key=key,
            channel=channel,
            hours=_availability(channel),
            has_weekly_hours=channel.hours is not None,
            first_reply=_first_reply_promise(policy, key),
        )
        for key, channel in policy.channels.items()
        if channel.published
    ]


def zone_label(policy: SupportPolicy, at: dt.datetime) -> str:
    """The team's time zone as "Africa/Lagos time (WAT)", abbreviated as it is at ``at``."""
    abbreviation = at.astimezone(policy.calendar.zone).strftime("%Z")
    name = f"{policy.calendar.time_zone} time"
    if not abbreviation or abbreviation.startswith(("+", "-")):
        return name  # zones without a letter abbreviation print "+04"; say nothing then
    return f"{name} ({abbreviation})"
