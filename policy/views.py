import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from policy import selectors
from policy.loader import get_policy
from policy.schema import ChannelKind, SupportPolicy


def support_policy(request: HttpRequest) -> HttpResponse:
    """The published policy; every fact on the page is read from the policy file."""
    policy = get_policy()
    now = timezone.now()
    channels = selectors.channel_cards(policy)
    by_kind: dict[ChannelKind, selectors.ChannelCard] = {}
    for card in reversed(channels):  # the first channel of each kind wins
        by_kind[card.channel.kind] = card
    return render(
        request,
        "policy/support_policy.html",
        {
            "policy": policy,
            "team_zone_name": policy.calendar.time_zone,
            "team_zone": selectors.zone_label(policy, now),
            "chat": by_kind.get(ChannelKind.LIVE_CHAT),
            "chat_status": (
                selectors.chat_status(policy, now, by_kind[ChannelKind.LIVE_CHAT].key)
                if ChannelKind.LIVE_CHAT in by_kind
                else None
            ),
            "email": by_kind.get(ChannelKind.EMAIL),
            "help_center": by_kind.get(ChannelKind.HELP_CENTER),
            "channels": channels,
            "promises": selectors.published_promises(policy),
            "business_hours": selectors.hours_sentences(policy.calendar.weekly_hours),
            "promise_record": _promise_record(policy, now),
        },
    )


def _promise_record(policy: SupportPolicy, now: dt.datetime) -> dict[str, Any] | None:
    """Last calendar month's record of each published promise, when the policy opts in."""
    if not policy.reports.show_promise_record:
        return None
    from reports.selectors import promise_records

    today = now.astimezone(policy.calendar.zone).date()
    last = today.replace(day=1) - dt.timedelta(days=1)
    first = last.replace(day=1)
    return {
        "month": first,
        "by_target": {record.target_id: record for record in promise_records(first, last)},
    }
