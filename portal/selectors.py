"""Reads for the customer portal's pages: ratings of solved requests, open escalations."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse

from feedback.models import Rating
from feedback.requests import resolution_interaction
from sla.models import Escalation, EscalationStatus
from tickets.choices import TicketStatus
from tickets.models import Ticket

RATEABLE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def ticket_url(ticket: Ticket) -> str:
    return reverse("portal:request", args=[ticket.pk])


def rating_open(*, ticket: Ticket) -> bool:
    """A solved (or closed) request can be rated by its customer."""
    return ticket.status in RATEABLE


def ratings_by_ticket(*, tickets: list[Ticket]) -> dict[int, Rating]:
    """The customer's rating of each solved request's latest resolution, by ticket id."""
    solved = [t for t in tickets if rating_open(ticket=t)]
    if not solved:
        return {}
    wanted = {(t.pk, resolution_interaction(t)) for t in solved}
    found = Rating.objects.filter(
        ticket_id__in=[t.pk for t in solved], interaction__startswith="resolution-"
    )
    return {r.ticket_id: r for r in found if (r.ticket_id, r.interaction) in wanted}


def with_open_escalation(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Annotates ``escalated``: a supervisor is yet to contact the customer."""
    return tickets.annotate(
        escalated=Exists(
            Escalation.objects.filter(ticket=OuterRef("pk"), status=EscalationStatus.OPEN)
        )
    )
