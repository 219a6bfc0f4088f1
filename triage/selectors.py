"""Reads for triage: the queue of uncategorised conversations, the classifier's state."""

from __future__ import annotations

from django.db.models import QuerySet

from tickets.choices import TicketStatus
from tickets.models import Ticket
from triage.models import ClassifierVersion


def triage_queue() -> QuerySet[Ticket]:
    """Open conversations without a category, oldest first (they wait longest)."""
    return (
        Ticket.objects.filter(category="")
        .exclude(status=TicketStatus.CLOSED)
        .select_related("requester", "triage", "triage__classifier")
        .order_by("created_at", "id")
    )


def classifier_history(*, limit: int = 5) -> list[ClassifierVersion]:
    return list(ClassifierVersion.objects.order_by("-version")[:limit])
