"""Reads of the policy shaped for pages: live-chat status, hours as sentences, promises."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from policy.calendar import current_closing, is_open, next_opening
from policy.schema import ChannelPolicy, OpeningHours, ResponseTarget, SupportPolicy, Weekday


@dataclass(frozen=True)
class ChatStatus:
    open_now: bool
    closes_at: dt.datetime | None
    next_open_at: dt.datetime | None


def chat_status(policy: SupportPolicy, at: dt.datetime, channel: str = "live_chat") -> ChatStatus:
    hours = policy.hours_for(channel)
    if is_open(policy.calendar, hours, at):
        return ChatStatus(True, current_closing(policy.calendar, hours, at), None)
    return ChatStatus(False, None, next_opening(policy.calendar, hours, at))


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
    title: str
    span: str
    promise: str
    during_business_hours: bool


def published_promises(policy: SupportPolicy) -> list[PublishedPromise]:
    promises = []
    for target in policy.response_targets:
        if not target.published:
            continue
        business = target.clock == "business"
        promises.append(
            PublishedPromise(
                title=target.title,
                span=_span(target, business),
                promise=target.promise,
                during_business_hours=business and target.target.unit != "days",
            )
        )
    return promises


def published_channels(policy: SupportPolicy) -> list[tuple[str, ChannelPolicy, list[str]]]:
    return [
        (key, channel, hours_sentences(channel.hours))
        for key, channel in policy.channels.items()
        if channel.published
    ]
