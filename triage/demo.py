"""Demo conversations that arrive as free text, so the demo shows triage at work."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from accounts.models import User
from tickets import services
from tickets.choices import Channel

# (channel, text): written as customers write on these channels; one names its order.
_FREE_TEXT = [
    (Channel.EMAIL, "Good morning, I was debited twice for one order. Please reverse one."),
    (Channel.INSTAGRAM, "abeg my order {order} never reach me, na since last week"),
    (Channel.TIKTOK, "pls how do i reset my pasword, the app keep saying error"),
    (Channel.EMAIL, "Good day, I need some information please."),
]


def seed_triage_demo(
    *,
    buyers: Sequence[User],
    order_number_of: Callable[[User], str],
    progress: Callable[[str], None],
) -> None:
    """Open the free-text conversations through ``ticket_open`` (no category), as email and
    social intake do; the classifier is trained on first use."""
    for index, (channel, text) in enumerate(_FREE_TEXT):
        buyer = buyers[index % len(buyers)]
        services.ticket_open(
            requester=buyer, channel=channel, body=text.format(order=order_number_of(buyer))
        )
    progress(f"{len(_FREE_TEXT)} free-text conversations categorised by triage")
