"""Demo ratings and rollups, so every report page has something to show."""

from __future__ import annotations

import random
from collections.abc import Callable

from django.db import transaction

from reports import rollups
from tickets import events
from tickets.choices import TicketStatus
from tickets.models import Ticket, TicketEvent

_COMMENTS = [
    "",
    "",
    "Quick and polite, thank you.",
    "Took two days to get an answer.",
    "Sorted my refund the same day!",
    "",
]


def seed_reports_demo(*, progress: Callable[[str], None] = lambda _: None) -> None:
    """Rate the solved demo conversations (at the time they were solved), then build the
    rollups once the demo transaction commits."""
    rng = random.Random(9)
    solved = Ticket.objects.filter(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED])
    rated = 0
    for ticket in solved.exclude(events__kind="rated"):
        event = events.rated(
            ticket=ticket,
            actor=ticket.requester,
            channel=ticket.channel,
            score=rng.choice([5, 5, 4, 4, 3, 2]),
            comment=rng.choice(_COMMENTS),
        )
        moment = ticket.resolved_at or ticket.updated_at
        TicketEvent.objects.filter(pk=event.pk).update(created_at=moment)
        rated += 1
    progress(f"{rated} demo ratings")

    def rebuild() -> None:
        span = rollups.data_span()
        if span is not None:
            rollups.rebuild_range(first=span[0], last=span[1])

    transaction.on_commit(rebuild)
