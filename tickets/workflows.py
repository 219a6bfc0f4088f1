"""Acts on a ticket that follow a feature app's decision.

Triage and conduct decide (whether a category needs an order number or photos, what to
ask, how a ticket is filed); the ticket services act here, so that no feature app calls
back into ``tickets.services``. The write path makes the same asks for new tickets in
bulk (``tickets.write_path``); these are the single-ticket forms.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from conduct import services as conduct
from tickets.models import Ticket
from triage import routing
from triage import services as triage
from triage.models import PredictionSource, TicketTriage


@transaction.atomic
def ticket_categorise_from_triage(*, ticket: Ticket, actor: User, category: str) -> Ticket:
    """An agent files a waiting conversation: the category (a labelled example), then an
    agent of that category's team by the team's strategy."""
    from tickets.services import ticket_update

    ticket = ticket_update(ticket=ticket, actor=actor, category=category)
    routing.ticket_route(ticket=ticket)
    return ticket


def asks_after_category(*, ticket: Ticket) -> None:
    """An agent gave the ticket its category: ask once for what that category needs (an
    order number, photos). Caller holds the ticket's lock."""
    order_number_request_once(ticket=ticket)
    photo_request_once(ticket=ticket)


def order_number_request_once(*, ticket: Ticket) -> bool:
    """Ask the customer, politely and once per ticket, for the order number their category
    needs. Caller holds the ticket's lock. Returns whether it asked. (A ticket being
    opened is asked by the write path, ``tickets.write_path``.)"""
    from tickets.services import ticket_system_reply

    if not triage.order_number_wanted(ticket=ticket):
        return False
    record, _ = TicketTriage.objects.get_or_create(
        ticket=ticket, defaults={"source": PredictionSource.CUSTOMER, "applied": True}
    )
    # Claimed with a conditional update, so two concurrent callers cannot both ask.
    claimed = TicketTriage.objects.filter(
        pk=record.pk, order_number_requested_at__isnull=True
    ).update(order_number_requested_at=timezone.now())
    if not claimed:
        return False
    body = triage.order_number_request_text()
    # One message asks for both when the category also wants photos.
    if conduct.photo_request_claim(ticket=ticket):
        body += "\n\n" + conduct.photo_request_text(ticket=ticket)
    ticket_system_reply(ticket=ticket, body=body)
    return True


def photo_request_once(*, ticket: Ticket, new_ticket_photos: bool | None = None) -> bool:
    """Ask for photos once, unless the order-number request already carried the ask.
    Caller holds the ticket's lock (or just created it: see
    ``conduct.services.photo_request_claim``)."""
    from tickets.services import ticket_system_reply

    if not conduct.photo_request_claim(ticket=ticket, new_ticket_photos=new_ticket_photos):
        return False
    ticket_system_reply(ticket=ticket, body=conduct.photo_request_text(ticket=ticket))
    return True
