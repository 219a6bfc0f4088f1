"""Reads of ratings: what the console's ticket page shows of them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Avg, Count, Q

from feedback.models import Rating
from tickets.models import Ticket


@dataclass(frozen=True)
class TicketPageRatings:
    # The ticket's own ratings, the latest change first.
    ticket: list[Rating]
    # The requester's latest ratings on any of their tickets, newest first; the average
    # and the number of all of them.
    latest: list[Rating]
    average: float | None
    count: int


def ticket_page_ratings(*, ticket: Ticket, latest: int = 3) -> TicketPageRatings:
    """One query for the ticket's ratings and the requester's latest ones (the ticket's
    are the requester's too); a second for the requester's average and count only when
    the latest fill the list (a shorter list is all of them)."""
    of_requester = Rating.objects.filter(ticket__requester_id=ticket.requester_id)
    newest = of_requester.order_by("-created_at", "-pk").values("pk")[:latest]
    rows = list(of_requester.filter(Q(ticket=ticket) | Q(pk__in=newest)).select_related("ticket"))
    # The requester's newest are in ``rows`` and newer than any other row there.
    shown = sorted(rows, key=lambda rating: (rating.created_at, rating.pk), reverse=True)
    shown = shown[:latest]
    if len(shown) < latest:
        scores = [rating.score for rating in shown]
        average, count = (sum(scores) / len(scores) if scores else None), len(scores)
    else:
        summary = of_requester.aggregate(average=Avg("score"), count=Count("pk"))
        average, count = summary["average"], summary["count"]
    own = [rating for rating in rows if rating.ticket_id == ticket.pk]
    return TicketPageRatings(
        ticket=sorted(own, key=lambda rating: rating.updated_at, reverse=True),
        latest=shown,
        average=average,
        count=count,
    )
