"""Demo data for conduct and feedback: a conversation that turned abusive (flagged,
reminded), one angry-but-civil one (not flagged), and ratings of solved requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from accounts.models import User
from feedback.services import feedback_record
from tickets import services
from tickets.choices import Channel, TicketStatus


def seed_conduct_demo(
    *, buyers: Sequence[User], agent: User, progress: Callable[[str], None]
) -> None:
    angry = services.ticket_open(
        requester=buyers[0],
        channel=Channel.EMAIL,
        category="payments",
        body="This is the third time I ask about my refund, I am furious.",
    )
    abusive = services.ticket_open(
        requester=buyers[1 % len(buyers)],
        channel=Channel.WEB_FORM,
        category="technical_support",
        body="The app logs me out every five minutes.",
    )
    services.ticket_customer_message(
        ticket=abusive,
        author=abusive.requester,
        body="Still broken. You are all f*cking useless id1ots.",
    )
    rated = 0
    for buyer, score, comment in (
        (buyers[0], 5, "Quick and polite, thank you."),
        (buyers[1 % len(buyers)], 2, "Took three emails to get an answer."),
    ):
        ticket = services.ticket_open(
            requester=buyer,
            channel=Channel.EMAIL,
            category="order_status",
            body="Where is my parcel? It said delivered but I have nothing.",
        )
        services.ticket_reply(ticket=ticket, author=agent, body="Found it with the courier.")
        services.ticket_update(ticket=ticket, actor=agent, status=TicketStatus.RESOLVED)
        feedback_record(
            ticket=ticket,
            channel=ticket.channel,
            score=score,
            comment=comment,
            interaction="resolution-1",
            actor=buyer,
        )
        rated += 1
    progress(
        f"conduct: {angry.reference} angry but civil, {abusive.reference} flagged; "
        f"{rated} rated requests"
    )
